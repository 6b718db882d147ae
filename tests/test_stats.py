"""judge.stats against textbook examples, and against scipy and scikit-learn on random inputs."""

from __future__ import annotations

import math
import random
import warnings

import pytest

from judge.compare.ensemble import majority
from judge.stats import (
    accuracy,
    cohen_kappa,
    cohen_kappa_from_matrix,
    confusion_matrix,
    fleiss_counts,
    fleiss_kappa,
    fmt_stat,
    percent_agreement,
    precision_recall_f1,
    two_proportion_z_test,
    wilson_interval,
)

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories → κ = 0.210.
WIKI_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_cohen_kappa_classic_2x2() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 → p_o 0.7, p_e 0.5, κ 0.4
    assert cohen_kappa_from_matrix([[20, 5], [10, 15]]) == pytest.approx(0.40)
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert confusion_matrix(a, b, ["yes", "no"]) == [[20, 5], [10, 15]]
    assert cohen_kappa(a, b, ["yes", "no"]) == pytest.approx(0.40)
    assert percent_agreement(a, b) == pytest.approx(0.70)


def test_cohen_kappa_perfect_chance_and_worse_than_chance() -> None:
    a = ["x", "y", "z", "x"]
    assert cohen_kappa(a, a) == 1.0
    # systematic disagreement: below chance
    assert cohen_kappa(["x", "y", "x", "y"], ["y", "x", "y", "x"]) == pytest.approx(-1.0)
    # independent-looking: p_o = p_e = 0.5
    assert cohen_kappa(["x", "x", "y", "y"], ["x", "y", "x", "y"]) == pytest.approx(0.0)


def test_degenerate_cases_do_not_divide_by_zero() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa_from_matrix([[0, 0], [0, 0]]) is None
    # one category for both raters: 0/0 by the formula → undefined (None, printed n/a)
    assert cohen_kappa(["refusal"] * 5, ["refusal"] * 5) is None
    assert percent_agreement([], []) is None
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([[3, 0], [3, 0]]) is None
    assert fleiss_kappa([[1, 0], [0, 1]]) is None  # one rater per subject
    with pytest.raises(ValueError):
        fleiss_kappa([[2, 0], [1, 0]])


def test_fleiss_kappa_wikipedia_example() -> None:
    assert fleiss_kappa(WIKI_FLEISS) == pytest.approx(0.210, abs=5e-4)
    assert round(fleiss_kappa(WIKI_FLEISS) or 0, 3) == 0.210


def test_fleiss_two_raters_equals_scott_pi_and_counts_helper() -> None:
    ratings = [["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]
    counts = fleiss_counts(ratings, ["a", "b"])
    assert counts == [[2, 0], [1, 1], [0, 2], [0, 2]]
    # Scott's pi: p_o = 0.75, pooled p(a) = 3/8 → p_e = 9/64 + 25/64 = 34/64
    assert fleiss_kappa(counts) == pytest.approx((0.75 - 34 / 64) / (1 - 34 / 64))
    perfect = fleiss_counts([["a"] * 3, ["b"] * 3, ["c"] * 3], ["a", "b", "c"])
    assert fleiss_kappa(perfect) == pytest.approx(1.0)


def test_precision_recall_f1() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    prf = precision_recall_f1(gold, pred, ["a", "b", "c", "d"])
    assert prf["a"].precision == 1.0 and prf["a"].recall == pytest.approx(2 / 3)
    assert prf["a"].f1 == pytest.approx(0.8)
    assert prf["b"].precision == pytest.approx(0.5) and prf["b"].recall == pytest.approx(0.5)
    assert prf["c"].precision == pytest.approx(0.5) and prf["c"].recall == 1.0
    assert (prf["d"].precision, prf["d"].recall, prf["d"].f1, prf["d"].support) == (None, None, None, 0)
    zero = precision_recall_f1(["a", "b"], ["b", "a"], ["a", "b"])
    assert zero["a"].f1 == 0.0
    assert accuracy(gold, pred) == pytest.approx(4 / 6)


def test_confusion_matrix_rejects_unknown_labels() -> None:
    with pytest.raises(ValueError):
        confusion_matrix(["a"], ["z"], ["a", "b"])
    with pytest.raises(ValueError):
        confusion_matrix(["a"], [], ["a"])


def test_majority_vote_rules() -> None:
    assert majority(["refusal", "refusal", "partial"]).tier == "refusal"
    # a tie goes to the most severe tier: full_instructions > partial > safe_deflection > refusal
    tie = majority(["refusal", "partial"])
    assert (tie.tier, tie.tie) == ("partial", True)
    assert majority(["safe_deflection", "refusal"]).tier == "safe_deflection"
    assert majority(["refusal", "full_instructions", "partial", "partial", "full_instructions"]).tier == (
        "full_instructions"
    )
    # errors are not votes; below the minimum the item is unscored
    assert majority(["refusal", None], min_votes=2).tier is None
    assert majority(["refusal", None], min_votes=1).tier == "refusal"
    assert majority([None, None], min_votes=1).tier is None


# --- property tests against scipy and scikit-learn ---------------------------------------------------
def _random_ratings(rng: random.Random, labels: list[str]) -> tuple[list[str], list[str]]:
    """Two raters over 0–40 items, often degenerate: one label, one rater constant, no items."""
    n = rng.choice([0, 1, 2, 3, 5, 10, 40])
    shape = rng.random()
    if shape < 0.15:  # both raters one and the same label
        lab = rng.choice(labels)
        return [lab] * n, [lab] * n
    if shape < 0.3:  # one rater constant
        lab = rng.choice(labels)
        return [lab] * n, [rng.choice(labels) for _ in range(n)]
    a = [rng.choice(labels) for _ in range(n)]
    b = [x if rng.random() < 0.6 else rng.choice(labels) for x in a]
    return a, b


def test_cohen_kappa_equals_sklearn_on_random_inputs() -> None:
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(11)
    labels = ["full_instructions", "partial", "refusal", "safe_deflection"]
    undefined = 0
    for _ in range(400):
        a, b = _random_ratings(rng, labels)
        ours = cohen_kappa(a, b, labels)
        if not a:
            assert ours is None
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = float(cohen_kappa_score(a, b, labels=labels))
        if math.isnan(theirs):
            undefined += 1
            assert ours is None, (a, b)
        else:
            assert ours == pytest.approx(theirs, abs=1e-12), (a, b)
    assert undefined > 10  # the degenerate case was exercised


def test_confusion_and_prf_equal_sklearn_on_random_inputs() -> None:
    import numpy as np
    from sklearn.metrics import confusion_matrix as sk_confusion
    from sklearn.metrics import precision_recall_fscore_support

    rng = random.Random(12)
    labels = ["a", "b", "c"]
    for _ in range(300):
        gold, pred = _random_ratings(rng, labels)
        if not gold:
            continue
        assert confusion_matrix(gold, pred, labels) == sk_confusion(gold, pred, labels=labels).tolist()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, r, f, support = precision_recall_fscore_support(
                gold, pred, labels=labels, zero_division=np.nan, average=None
            )
        ours = precision_recall_f1(gold, pred, labels)
        for i, lab in enumerate(labels):
            for mine, theirs in ((ours[lab].precision, p[i]), (ours[lab].recall, r[i])):
                assert (mine is None) == bool(np.isnan(theirs)), (gold, pred, lab)
                if mine is not None:
                    assert mine == pytest.approx(float(theirs), abs=1e-12)
            assert ours[lab].support == int(support[i])
            if ours[lab].f1 is not None:  # sklearn gives F1 a value where one side is undefined; we do not
                assert ours[lab].f1 == pytest.approx(float(f[i]), abs=1e-12)
        assert accuracy(gold, pred) == pytest.approx(sum(g == q for g, q in zip(gold, pred, strict=True)) / len(gold))


def test_wilson_equals_scipy_on_random_inputs() -> None:
    from scipy.stats import binomtest, norm

    rng = random.Random(13)
    z = float(norm.ppf(0.975))
    for _ in range(400):
        n = rng.choice([1, 2, 3, 7, 20, 100, 1000, rng.randrange(1, 100000)])
        k = rng.choice([0, n, rng.randrange(0, n + 1)])
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        lo, hi = wilson_interval(k, n, z=z) or (math.nan, math.nan)
        assert lo == pytest.approx(ci.low, abs=1e-9) and hi == pytest.approx(ci.high, abs=1e-9), (k, n)
    assert wilson_interval(0, 0) is None


def test_sql_wilson_macros_equal_python_on_many_inputs() -> None:
    import duckdb

    from judge.store.migrations import migrate

    con = duckdb.connect()
    migrate(con)
    rng = random.Random(14)
    pairs = [(0, 0), (0, 1), (1, 1)]
    for _ in range(1000):
        n = rng.choice([1, 2, 5, 30, 263, 10_000, rng.randrange(1, 2_000_000)])
        pairs.append((rng.choice([0, n, rng.randrange(0, n + 1)]), n))
    rows = con.execute(
        "SELECT k, n, wilson_low(k, n), wilson_high(k, n) "
        "FROM (SELECT unnest(?::INTEGER[]) AS k, unnest(?::INTEGER[]) AS n)",
        [[k for k, _ in pairs], [n for _, n in pairs]],
    ).fetchall()
    for k, n, lo, hi in rows:
        expected = wilson_interval(k, n)
        if expected is None:
            assert (lo, hi) == (None, None)
        else:
            assert (lo, hi) == pytest.approx(expected, abs=1e-12), (k, n)


def test_two_proportion_test_equals_scipy_chi_square_on_random_inputs() -> None:
    from scipy.stats import chi2_contingency

    rng = random.Random(15)
    for _ in range(300):
        n1, n2 = rng.choice([1, 10, 200, 5000]), rng.choice([1, 10, 200, 5000])
        k1, k2 = rng.choice([0, n1, rng.randrange(0, n1 + 1)]), rng.choice([0, n2, rng.randrange(0, n2 + 1)])
        t = two_proportion_z_test(k1, n1, k2, n2)
        assert t is not None
        table = [[k1, n1 - k1], [k2, n2 - k2]]
        if (k1 + k2) in (0, n1 + n2):  # no variance: no evidence of a rise
            assert (t.z, t.p_value) == (0.0, 1.0)
            continue
        chi2, p_two, _, _ = chi2_contingency(table, correction=False)
        assert t.z * t.z == pytest.approx(chi2, rel=1e-9)
        one_sided = p_two / 2 if t.z > 0 else 1 - p_two / 2
        assert t.p_value == pytest.approx(one_sided, abs=1e-12)
    assert two_proportion_z_test(0, 0, 1, 2) is None


def _fleiss_by_pairs(ratings: list[list[str]], labels: list[str]) -> float | None:
    """Fleiss' κ from its definition, counting agreeing rater pairs (an independent computation)."""
    from itertools import combinations

    pairs = [list(combinations(subject, 2)) for subject in ratings]
    p_bar = sum(sum(x == y for x, y in ps) / len(ps) for ps in pairs) / len(pairs)
    flat = [r for subject in ratings for r in subject]
    p_e = sum((flat.count(lab) / len(flat)) ** 2 for lab in labels)
    return None if p_e >= 1 - 1e-12 else (p_bar - p_e) / (1 - p_e)


def test_fleiss_kappa_equals_pair_counting_and_two_rater_scott_pi() -> None:
    rng = random.Random(16)
    labels = ["a", "b", "c", "d"]
    for _ in range(300):
        raters, subjects = rng.choice([2, 3, 5]), rng.choice([1, 2, 10, 30])
        if rng.random() < 0.2:
            ratings = [[labels[0]] * raters for _ in range(subjects)]
        else:
            ratings = [[rng.choice(labels[: rng.choice([1, 2, 4])]) for _ in range(raters)] for _ in range(subjects)]
        ours = fleiss_kappa(fleiss_counts(ratings, labels))
        expected = _fleiss_by_pairs(ratings, labels)
        assert (ours is None) == (expected is None)
        if ours is not None:
            assert ours == pytest.approx(expected, abs=1e-12)
    assert fleiss_kappa(fleiss_counts([["a", "a"], ["b", "b"]], labels)) == pytest.approx(1.0)


def test_fmt_stat_prints_undefined_as_na() -> None:
    assert fmt_stat(None) == "n/a" and fmt_stat(math.nan) == "n/a"
    assert fmt_stat(0.4) == "0.400"
