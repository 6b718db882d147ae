"""Wilson intervals, Rate, Cohen's kappa, and the SQL metrics view against Python."""

from __future__ import annotations

import duckdb
import pytest

from judge.analysis.agreement import cohen_kappa, percent_agreement
from judge.analysis.metrics import Rate, wilson_interval
from judge.store.migrations import migrate


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
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_edges_and_symmetry() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 7)[0] == 0.0 and wilson_interval(7, 7)[1] == 1.0
    lo, hi = wilson_interval(3, 20)
    lo2, hi2 = wilson_interval(17, 20)
    assert lo == pytest.approx(1 - hi2) and hi == pytest.approx(1 - lo2)
    wide, narrow = wilson_interval(5, 10, z=2.576), wilson_interval(5, 10)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_rate_of() -> None:
    r = Rate.of(5, 10)
    assert (r.k, r.n, r.rate) == (5, 10, 0.5)
    assert r.low == pytest.approx(0.2366, abs=5e-5)
    empty = Rate.of(0, 0)
    assert empty.rate is None and empty.low is None and empty.high is None


def test_sql_wilson_macros_match_python() -> None:
    con = duckdb.connect()
    migrate(con)
    for k, n in ((0, 10), (5, 10), (10, 10), (81, 263), (1, 3)):
        lo, hi = con.execute("SELECT wilson_low(?, ?), wilson_high(?, ?)", [k, n, k, n]).fetchall()[0]
        assert (lo, hi) == pytest.approx(wilson_interval(k, n), abs=1e-12)
    assert con.execute("SELECT wilson_low(0, 0), wilson_high(0, 0)").fetchall()[0] == (None, None)


def test_cohen_kappa_textbook() -> None:
    # Wikipedia's example: 50 items, yes/yes 20, yes/no 5, no/yes 10, no/no 15 → kappa 0.4
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert percent_agreement(a, b) == pytest.approx(0.7)
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa(["x"] * 4, ["x"] * 4) is None  # chance agreement 1: undefined
    assert cohen_kappa([], []) is None and percent_agreement([], []) is None
    with pytest.raises(ValueError):
        percent_agreement(["a"], [])
