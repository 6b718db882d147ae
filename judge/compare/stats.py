"""Agreement statistics: percent agreement, Cohen's κ, Fleiss' κ, confusion matrices, P/R/F1.

Pure functions over plain lists, checked against textbook examples in tests/test_compare_stats.py.

Degenerate cases (documented in docs/comparing-judges.md):
- no items → None (undefined, shown as "n/a"), never a division by zero;
- κ when chance agreement is 1 (every rating falls in one single category): the formula is 0/0.
  Observed agreement is then necessarily perfect too, so κ is reported as 1.0 (raters agree on
  every item). This is a convention: the statistic carries no information about chance there;
- precision of a label that was never predicted, recall of a label absent from the gold
  labels → None; F1 → None when either is None, 0.0 when both are 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

L = TypeVar("L", bound=Hashable)


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


def cohen_kappa_from_matrix(m: Sequence[Sequence[int]]) -> float | None:
    """Cohen's κ = (p_o - p_e) / (1 - p_e) from a square confusion matrix."""
    n = sum(sum(row) for row in m)
    if n == 0:
        return None
    k = len(m)
    p_o = sum(m[i][i] for i in range(k)) / n
    rows = [sum(m[i]) / n for i in range(k)]
    cols = [sum(m[i][j] for i in range(k)) / n for j in range(k)]
    p_e = sum(r * c for r, c in zip(rows, cols, strict=True))
    if p_e >= 1.0 - 1e-12:
        return 1.0  # single category for both raters: necessarily p_o = 1 (see module docstring)
    return (p_o - p_e) / (1.0 - p_e)


def cohen_kappa(a: Sequence[L], b: Sequence[L], labels: Sequence[L] | None = None) -> float | None:
    """Cohen's κ between two raters over the same items."""
    labs: Sequence[L] = labels if labels is not None else sorted(set(a) | set(b), key=str)
    return cohen_kappa_from_matrix(confusion_matrix(a, b, labs))


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' κ from a subjects × categories table of rating counts (same number of raters each).

    None without subjects or with fewer than two raters per subject.
    """
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
    if p_e >= 1.0 - 1e-12:
        return 1.0  # everyone used one category: p_bar = 1 (see module docstring)
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


def accuracy(gold: Sequence[L], pred: Sequence[L]) -> float | None:
    return percent_agreement(gold, pred)


@dataclass(frozen=True)
class PRF:
    precision: float | None
    recall: float | None
    f1: float | None
    support: int  # gold items with this label
    predicted: int  # items predicted with this label


def precision_recall_f1(gold: Sequence[L], pred: Sequence[L], labels: Sequence[L]) -> dict[L, PRF]:
    """Per-label precision, recall and F1 of `pred` against `gold`."""
    m = confusion_matrix(gold, pred, labels)  # rows gold, columns predicted
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
