"""Judge agreement for the report: per judge pair, percent agreement and Cohen's κ on tiers.

Only responses both judges graded are compared (no errors, no provider blocks: a block is not a
judgement). The numbers come from one SQL aggregate (a tier × tier count per pair, never the rows
themselves), and κ from judge.stats: None (printed n/a) when undefined, e.g. both judges used one
and the same tier throughout, or nothing to compare.
"""

from __future__ import annotations

import duckdb
from pydantic import BaseModel, ConfigDict

from judge.stats import cohen_kappa_from_matrix
from judge.store.db import fetch
from judge.tiers import TIERS


class PairAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    judge_a: str
    judge_b: str
    n: int
    agree: int
    percent: float | None
    kappa: float | None


def pairwise_agreement(con: duckdb.DuckDBPyConnection, run_id: str) -> list[PairAgreement]:
    """Every pair of the run's judges, over the responses both graded (from the judge_pairs view)."""
    counts = fetch(
        con,
        "SELECT judge_a, judge_b, tier_a, tier_b, count(*) FROM judge_pairs WHERE run_id = ? GROUP BY ALL",
        [run_id],
    )
    index = {t: i for i, t in enumerate(TIERS)}
    matrices: dict[tuple[str, str], list[list[int]]] = {}
    for ja, jb, ta, tb, n in counts:
        m = matrices.setdefault((ja, jb), [[0] * len(TIERS) for _ in TIERS])
        m[index[ta]][index[tb]] += int(n)
    judges = [
        r[0]
        for r in fetch(con, "SELECT name FROM run_models WHERE run_id = ? AND role = 'judge' ORDER BY name", [run_id])
    ]
    out = []
    for i, ja in enumerate(judges):
        for jb in judges[i + 1 :]:
            m = matrices.get((ja, jb), [[0] * len(TIERS) for _ in TIERS])
            n = sum(map(sum, m))
            agree = sum(m[k][k] for k in range(len(TIERS)))
            out.append(
                PairAgreement(
                    judge_a=ja,
                    judge_b=jb,
                    n=n,
                    agree=agree,
                    percent=agree / n if n else None,
                    kappa=cohen_kappa_from_matrix(m),
                )
            )
    return out
