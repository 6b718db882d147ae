"""Judge agreement for the report: per judge pair, percent agreement and Cohen's κ on tiers.

Only responses both judges graded are compared (no errors, no provider blocks: a block is not a
judgement). The numbers come from one SQL aggregate (the distinct patterns of tiers across judges, counted;
never the rows themselves), and κ from judge.stats: None (printed n/a) when undefined, e.g. both judges used one
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


# Each response's tiers from every judge packed in one integer (3 bits per judge: 0 = no ok verdict),
# summed per response and counted per distinct pattern: one pass over the verdicts, no self-join.
_PATTERNS = """
WITH j AS (
    SELECT judge_key, rubric_version, (row_number() OVER (ORDER BY judge) - 1)::INTEGER AS idx
    FROM judge_rubrics WHERE run_id = $run
),
per_response AS (
    SELECT sum((CASE v.tier WHEN 'full_instructions' THEN 1 WHEN 'partial' THEN 2 WHEN 'refusal' THEN 3
                            WHEN 'safe_deflection' THEN 4 END)::HUGEINT << (3 * j.idx)) AS pattern
    FROM verdicts v JOIN j ON j.judge_key = v.judge_key AND j.rubric_version = v.rubric_version
    WHERE v.run_id = $run AND v.status = 'ok'  -- verdicts exist only for answered responses
    GROUP BY v.response_id
)
SELECT pattern::VARCHAR, count(*) FROM per_response GROUP BY pattern
"""
_MAX_PACKED = 42  # judges that fit in a HUGEINT at 3 bits each; more use the judge_pairs view
_PAIRS = "SELECT judge_a, judge_b, tier_a, tier_b, count(*) FROM judge_pairs WHERE run_id = ? GROUP BY ALL"


def _matrices(con: duckdb.DuckDBPyConnection, run_id: str, judges: list[str]) -> dict[tuple[str, str], list[list[int]]]:
    """(judge_a, judge_b) -> tier × tier counts over the responses both graded."""
    k = len(TIERS)
    out = {(a, b): [[0] * k for _ in TIERS] for i, a in enumerate(judges) for b in judges[i + 1 :]}
    if len(judges) > _MAX_PACKED:
        index = {t: i for i, t in enumerate(TIERS)}
        for ja, jb, ta, tb, n in fetch(con, _PAIRS, [run_id]):
            out[(ja, jb)][index[ta]][index[tb]] += int(n)
        return out
    for pattern, n in con.execute(_PATTERNS, {"run": run_id}).fetchall():
        code = int(pattern)
        tiers = [(code >> (3 * i)) & 7 for i in range(len(judges))]
        for i, a in enumerate(judges):
            if tiers[i]:
                for j in range(i + 1, len(judges)):
                    if tiers[j]:
                        out[(a, judges[j])][tiers[i] - 1][tiers[j] - 1] += int(n)
    return out


def pairwise_agreement(con: duckdb.DuckDBPyConnection, run_id: str) -> list[PairAgreement]:
    """Every pair of the run's judges, over the responses both graded under their current rubric."""
    judges = [
        str(r[0]) for r in fetch(con, "SELECT judge FROM judge_rubrics WHERE run_id = ? ORDER BY judge", [run_id])
    ]
    out = []
    for (ja, jb), m in _matrices(con, run_id, judges).items():
        n = sum(map(sum, m))
        agree = sum(m[i][i] for i in range(len(TIERS)))
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
