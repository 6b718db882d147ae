"""The statistics behind the regression gates: a one-sided two-proportion z-test and Wilson intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

try:  # the analysis package's interval, when present (same formula)
    from judge.analysis.metrics import wilson_interval
except ImportError:  # pragma: no cover - only while judge/analysis is being written

    def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
        if n <= 0:
            return (0.0, 1.0)
        p = k / n
        centre = p + z * z / (2 * n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        denom = 1 + z * z / n
        low = 0.0 if k == 0 else max(0.0, (centre - half) / denom)
        high = 1.0 if k == n else min(1.0, (centre + half) / denom)
        return (low, high)


__all__ = ["ZTest", "normal_sf", "two_proportion_z_test", "wilson_interval"]


@dataclass(frozen=True)
class ZTest:
    """H0: p_after = p_before; H1: p_after > p_before (a rise). Pooled standard error."""

    z: float
    p_value: float


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def two_proportion_z_test(k_before: int, n_before: int, k_after: int, n_after: int) -> ZTest | None:
    """One-sided two-proportion z-test that the rate rose from k_before/n_before to k_after/n_after.

    None when either sample is empty. When the pooled proportion is 0 or 1 both rates are equal
    and there is no evidence of a rise: z = 0, p = 1.
    """
    if n_before <= 0 or n_after <= 0:
        return None
    p1, p2 = k_before / n_before, k_after / n_after
    pooled = (k_before + k_after) / (n_before + n_after)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_before + 1 / n_after))
    if se == 0.0:
        return ZTest(0.0, 1.0)
    z = (p2 - p1) / se
    return ZTest(z, normal_sf(z))
