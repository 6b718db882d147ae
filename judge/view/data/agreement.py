"""Judge agreement for a run: a tier confusion matrix per judge pair (from the run index), κ and % agreement.

Only responses both judges graded with a tier count (as in judge.analysis.agreement: no errors,
no abstentions, no provider blocks). Each cell links to the verdict table filtered to its items.
"""

from __future__ import annotations

from dataclasses import dataclass

from judge.stats import cohen_kappa_from_matrix
from judge.tiers import TIERS
from judge.view.context import ViewContext
from judge.view.sql import fetch_all


@dataclass(frozen=True)
class PairMatrix:
    judge_a: str
    judge_b: str
    tiers: tuple[str, ...]
    matrix: list[list[int]]  # rows: judge_a's tier, columns: judge_b's tier
    n: int
    agree: int
    kappa: float | None

    @property
    def percent(self) -> float | None:
        return self.agree / self.n if self.n else None


def agreement_matrices(ctx: ViewContext, run_id: str) -> list[PairMatrix]:
    cur = ctx.indexes.cursor()
    try:
        judges = [
            str(r[0]) for r in fetch_all(cur, "SELECT DISTINCT judge FROM scored WHERE run_id = ? ORDER BY 1", [run_id])
        ]
        counts: dict[tuple[str, str, str, str], int] = {
            (str(ja), str(jb), str(ta), str(tb)): int(n)
            for ja, jb, ta, tb, n in fetch_all(
                cur,
                """SELECT a.judge, b.judge, a.tier, b.tier, count(*)
                   FROM scored a JOIN scored b
                     ON b.run_id = a.run_id AND b.response_id = a.response_id AND a.judge < b.judge
                   WHERE a.run_id = ? AND a.verdict_status = 'ok' AND b.verdict_status = 'ok'
                     AND a.response_status = 'ok' AND b.response_status = 'ok'
                   GROUP BY ALL""",
                [run_id],
            )
        }
    finally:
        cur.close()
    out = []
    for i, ja in enumerate(judges):
        for jb in judges[i + 1 :]:
            m = [[counts.get((ja, jb, ta, tb), 0) for tb in TIERS] for ta in TIERS]
            n = sum(map(sum, m))
            agree = sum(m[k][k] for k in range(len(TIERS)))
            out.append(PairMatrix(ja, jb, TIERS, m, n, agree, cohen_kappa_from_matrix(m)))
    return out
