"""Agreement statistics against textbook examples with known values."""

from __future__ import annotations

import pytest

from judge.compare.ensemble import majority
from judge.compare.stats import (
    accuracy,
    cohen_kappa,
    cohen_kappa_from_matrix,
    confusion_matrix,
    fleiss_counts,
    fleiss_kappa,
    percent_agreement,
    precision_recall_f1,
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
    # one category for both raters: 0/0 by the formula; documented as 1.0 (perfect agreement)
    assert cohen_kappa(["refusal"] * 5, ["refusal"] * 5) == 1.0
    assert percent_agreement([], []) is None
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([[3, 0], [3, 0]]) == 1.0
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
