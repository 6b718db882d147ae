"""Judge agreement: pairwise percent agreement and Cohen's kappa on tiers.

Only responses both judges graded are compared (no errors, no provider blocks: a block is not a
judgement). Kappa is None when it is undefined (chance agreement of 1: both judges used a single
and the same tier throughout) or when there is nothing to compare.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import duckdb
from pydantic import BaseModel, ConfigDict

from judge.store.db import fetch


def percent_agreement(a: Sequence[str], b: Sequence[str]) -> float | None:
    if len(a) != len(b):
        raise ValueError("both raters must rate the same items")
    if not a:
        return None
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa for two raters over the same items: (p_o - p_e) / (1 - p_e)."""
    p_o = percent_agreement(a, b)
    if p_o is None:
        return None
    n = len(a)
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[c] * cb[c] for c in ca.keys() | cb.keys()) / (n * n)
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1 - p_e)


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
    rows = fetch(
        con,
        "SELECT judge_a, judge_b, tier_a, tier_b FROM judge_pairs WHERE run_id = ? "
        "ORDER BY judge_a, judge_b, response_id",
        [run_id],
    )
    pairs: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for ja, jb, ta, tb in rows:
        la, lb = pairs.setdefault((ja, jb), ([], []))
        la.append(ta)
        lb.append(tb)
    judges = [
        r[0]
        for r in fetch(con, "SELECT name FROM run_models WHERE run_id = ? AND role = 'judge' ORDER BY name", [run_id])
    ]
    out = []
    for i, ja in enumerate(judges):
        for jb in judges[i + 1 :]:
            la, lb = pairs.get((ja, jb), ([], []))
            out.append(
                PairAgreement(
                    judge_a=ja,
                    judge_b=jb,
                    n=len(la),
                    agree=sum(x == y for x, y in zip(la, lb, strict=True)),
                    percent=percent_agreement(la, lb),
                    kappa=cohen_kappa(la, lb),
                )
            )
    return out
