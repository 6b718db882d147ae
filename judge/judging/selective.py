"""Selective agreement: how agreement with a reference rises as a judge keeps only its confident verdicts.

`coverage_curve` sorts verdicts by confidence and reports, for each threshold, the share kept
(coverage) and the agreement among the kept ones; `threshold_for` picks the lowest threshold (the
largest coverage) whose agreement reaches a target. Used by `judge calibrate` and the evaluation
scripts. Ties in confidence are kept or dropped together, so a threshold means "confidence >= t".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from judge.stats import wilson_interval


@dataclass(frozen=True)
class CurvePoint:
    threshold: float  # keep verdicts with confidence >= threshold
    kept: int
    total: int
    agree: int

    @property
    def coverage(self) -> float:
        return self.kept / self.total if self.total else 0.0

    @property
    def agreement(self) -> float | None:
        return self.agree / self.kept if self.kept else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.agree, self.kept)


def coverage_curve(confidences: Sequence[float], agrees: Sequence[bool]) -> list[CurvePoint]:
    """One point per distinct confidence value, from the strictest threshold to keeping everything."""
    pairs = sorted(zip(confidences, agrees, strict=True), key=lambda p: -p[0])
    total = len(pairs)
    points: list[CurvePoint] = []
    kept = agree = 0
    i = 0
    while i < total:
        conf = pairs[i][0]
        while i < total and pairs[i][0] == conf:
            kept += 1
            agree += 1 if pairs[i][1] else 0
            i += 1
        points.append(CurvePoint(conf, kept, total, agree))
    return points


def at_coverages(points: Sequence[CurvePoint], coverages: Sequence[float]) -> list[CurvePoint]:
    """For each wanted coverage, the first point (strictest threshold) that keeps at least that share."""
    out = []
    for want in coverages:
        match = next((p for p in points if p.coverage >= want - 1e-12), None)
        if match is not None:
            out.append(match)
    return out


def threshold_for(points: Sequence[CurvePoint], target: float, min_kept: int = 1) -> CurvePoint | None:
    """The point with the largest coverage whose agreement is >= target (None when none reaches it)."""
    best = None
    for p in points:
        if p.kept >= min_kept and p.agreement is not None and p.agreement >= target:
            best = p
    return best
