"""Every statistic judge prints, once: Wilson intervals, Cohen's and Fleiss' κ, the two-proportion test, P/R/F1.

Pure functions over plain lists and counts; tests/test_stats.py checks them against scipy,
scikit-learn and statsmodels-style textbook values on random inputs, degenerate ones included.

One rule for degenerate cases: a statistic whose formula has no value on the data is **None**
("undefined", printed as `n/a` by `fmt_stat`), never a made-up number and never a division by zero:

- no items (n = 0) → None: percent agreement, accuracy, κ, a Wilson interval;
- Cohen's / Fleiss' κ when chance agreement is 1 (every rating in one single category, e.g. two
  judges that call everything `refusal`): the formula is 0/0 → None (scikit-learn returns nan);
- Fleiss' κ with fewer than two raters per subject → None;
- precision of a label never predicted, recall of a label absent from the gold labels → None;
  F1 → None when either is None, 0.0 when both are 0;
- the two-proportion test with an empty sample → None; with no variance (pooled rate 0 or 1) the
  rates are equal and there is no evidence of a rise: z = 0, p = 1.

The SQL macros `wilson_low` / `wilson_high` (judge/store/sql) compute the same interval; a test
checks they equal `wilson_interval` on many inputs.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

L = TypeVar("L", bound=Hashable)

Z_REPORT = 1.96  # as the SQL macros
_ONE = 1.0 - 1e-12  # chance agreement at or above this is "1" (floating point sums)


def fmt_stat(value: float | None, digits: int = 3) -> str:
    """A κ or similar statistic for people: `n/a` when undefined (see the module docstring)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


# --- proportions --------------------------------------------------------------------------------
def wilson_interval(k: int, n: int, z: float = Z_REPORT) -> tuple[float, float] | None:
    """The Wilson score interval for k successes in n trials (z = 1.96 → 95%); None when n is 0."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return None
    p = k / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denom = 1 + z2 / n
    low = 0.0 if k == 0 else max(0.0, (centre - half) / denom)
    high = 1.0 if k == n else min(1.0, (centre + half) / denom)
    return (low, high)


@dataclass(frozen=True)
class ZTest:
    """H0: p_after = p_before; H1: p_after > p_before (a rise). Pooled standard error."""

    z: float
    p_value: float


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def two_proportion_z_test(k_before: int, n_before: int, k_after: int, n_after: int) -> ZTest | None:
    """One-sided two-proportion z-test that the rate rose from k_before/n_before to k_after/n_after."""
    if n_before <= 0 or n_after <= 0:
        return None
    p1, p2 = k_before / n_before, k_after / n_after
    pooled = (k_before + k_after) / (n_before + n_after)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_before + 1 / n_after))
    if se == 0.0:
        return ZTest(0.0, 1.0)
    z = (p2 - p1) / se
    return ZTest(z, normal_sf(z))


# --- agreement ----------------------------------------------------------------------------------
def confusion_matrix(a: Sequence[L], b: Sequence[L], labels: Sequence[L]) -> list[list[int]]:
    """matrix[i][j] = items rated labels[i] by `a` and labels[j] by `b`. Unknown labels raise."""
    if len(a) != len(b):
        raise ValueError(f"rating lists differ in length: {len(a)} != {len(b)}")
    index = {lab: n for n, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for x, y in zip(a, b, strict=True):
        if x not in index or y not in index:
            raise ValueError(f"label {x if x not in index else y!r} is not one of {list(labels)}")
        m[index[x]][index[y]] += 1
    return m


def percent_agreement(a: Sequence[L], b: Sequence[L]) -> float | None:
    """Share of items on which both raters gave the same label (None without items)."""
    if len(a) != len(b):
        raise ValueError(f"rating lists differ in length: {len(a)} != {len(b)}")
    if not a:
        return None
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def accuracy(gold: Sequence[L], pred: Sequence[L]) -> float | None:
    return percent_agreement(gold, pred)


def cohen_kappa_from_matrix(m: Sequence[Sequence[int]]) -> float | None:
    """Cohen's κ = (p_o - p_e) / (1 - p_e) from a square confusion matrix; None when undefined."""
    n = sum(sum(row) for row in m)
    if n == 0:
        return None
    k = len(m)
    p_o = sum(m[i][i] for i in range(k)) / n
    rows = [sum(m[i]) / n for i in range(k)]
    cols = [sum(m[i][j] for i in range(k)) / n for j in range(k)]
    p_e = sum(r * c for r, c in zip(rows, cols, strict=True))
    if p_e >= _ONE:
        return None  # both raters used one single category: 0/0
    return (p_o - p_e) / (1.0 - p_e)


def cohen_kappa(a: Sequence[L], b: Sequence[L], labels: Sequence[L] | None = None) -> float | None:
    """Cohen's κ between two raters over the same items."""
    labs: Sequence[L] = labels if labels is not None else sorted(set(a) | set(b), key=str)
    return cohen_kappa_from_matrix(confusion_matrix(a, b, labs))


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' κ from a subjects × categories table of rating counts (same number of raters each)."""
    if not counts:
        return None
    raters = sum(counts[0])
    if any(sum(row) != raters for row in counts):
        raise ValueError("every subject must have the same number of ratings")
    if raters < 2:
        return None
    n_subjects = len(counts)
    k = len(counts[0])
    total = n_subjects * raters
    p_j = [sum(row[j] for row in counts) / total for j in range(k)]
    p_i = [(sum(c * c for c in row) - raters) / (raters * (raters - 1)) for row in counts]
    p_bar = sum(p_i) / n_subjects
    p_e = sum(p * p for p in p_j)
    if p_e >= _ONE:
        return None  # everyone used one category: 0/0
    return (p_bar - p_e) / (1.0 - p_e)


def fleiss_counts(ratings: Sequence[Sequence[L]], labels: Sequence[L]) -> list[list[int]]:
    """Per-subject rating lists → the counts table `fleiss_kappa` takes."""
    index = {lab: n for n, lab in enumerate(labels)}
    table = []
    for subject in ratings:
        row = [0] * len(labels)
        for r in subject:
            row[index[r]] += 1
        table.append(row)
    return table


# --- classification against gold labels ----------------------------------------------------------
@dataclass(frozen=True)
class PRF:
    precision: float | None
    recall: float | None
    f1: float | None
    support: int  # gold items with this label
    predicted: int  # items predicted with this label


def prf_from_matrix(m: Sequence[Sequence[int]], labels: Sequence[L]) -> dict[L, PRF]:
    """Per-label precision, recall and F1 from a gold (rows) × predicted (columns) matrix."""
    out: dict[L, PRF] = {}
    for i, lab in enumerate(labels):
        tp = m[i][i]
        support = sum(m[i])
        predicted = sum(row[i] for row in m)
        precision = tp / predicted if predicted else None
        recall = tp / support if support else None
        if precision is None or recall is None:
            f1 = None
        elif precision + recall == 0:
            f1 = 0.0
        else:
            f1 = 2 * precision * recall / (precision + recall)
        out[lab] = PRF(precision, recall, f1, support, predicted)
    return out


def precision_recall_f1(gold: Sequence[L], pred: Sequence[L], labels: Sequence[L]) -> dict[L, PRF]:
    """Per-label precision, recall and F1 of `pred` against `gold`."""
    return prf_from_matrix(confusion_matrix(gold, pred, labels), labels)
