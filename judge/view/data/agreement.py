"""Judge agreement for a run: a tier confusion matrix per judge pair (counted when its index is built), κ, % agreement.

Only responses both judges graded with a tier count (as in judge.analysis.agreement: no errors,
no abstentions, no provider blocks). Each cell links to the verdict table filtered to its items.
"""

from __future__ import annotations

from dataclasses import dataclass

from judge.stats import cohen_kappa_from_matrix
from judge.tiers import TIERS
from judge.view.index import IndexInfo


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


def agreement_matrices(info: IndexInfo) -> list[PairMatrix]:
    """One matrix per judge pair of the run, from the counts its index keeps."""
    counts = info.agreement
    judges = info.facets.get("judge", [])
    out = []
    for i, ja in enumerate(judges):
        for jb in judges[i + 1 :]:
            m = [[counts.get((ja, jb, ta, tb), 0) for tb in TIERS] for ta in TIERS]
            n = sum(map(sum, m))
            agree = sum(m[k][k] for k in range(len(TIERS)))
            out.append(PairMatrix(ja, jb, TIERS, m, n, agree, cohen_kappa_from_matrix(m)))
    return out
