"""Wilson intervals and Rate (the statistics themselves are in tests/test_stats.py)."""

from __future__ import annotations

import pytest

from judge.analysis.metrics import Rate
from judge.stats import wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # textbook: rule-of-three-like upper bound
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (1, 10, 0.0179, 0.4042),
        (50, 100, 0.4038, 0.5962),
        (81, 263, 0.2553, 0.3662),  # Newcombe (1998) example
    ],
)
def test_wilson_textbook_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n) or (None, None)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_edges_and_symmetry() -> None:
    assert wilson_interval(0, 0) is None  # nothing is known: undefined, like the SQL macros' NULL
    assert (wilson_interval(0, 7) or (1, 1))[0] == 0.0 and (wilson_interval(7, 7) or (0, 0))[1] == 1.0
    lo, hi = wilson_interval(3, 20) or (0, 0)
    lo2, hi2 = wilson_interval(17, 20) or (0, 0)
    assert lo == pytest.approx(1 - hi2) and hi == pytest.approx(1 - lo2)
    wide, narrow = wilson_interval(5, 10, z=2.576) or (0, 0), wilson_interval(5, 10) or (0, 0)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_rate_of() -> None:
    r = Rate.of(5, 10)
    assert (r.k, r.n, r.rate) == (5, 10, 0.5)
    assert r.low == pytest.approx(0.2366, abs=5e-5)
    empty = Rate.of(0, 0)
    assert empty.rate is None and empty.low is None and empty.high is None
