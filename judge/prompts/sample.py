"""Stratified, reproducible sampling of prompt rows (proportional allocation, at least one row per stratum)."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from judge.errors import UserInputError
from judge.prompts.model import PromptRow

STRATA_KEYS: tuple[str, ...] = ("l1", "l2", "l3", "intent", "technique", "lang")
NONE_KEY = "(none)"


def parse_stratify(spec: str | Sequence[str]) -> list[str]:
    """'l1,intent' or ['l1', 'intent'] -> validated list of stratification keys."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    keys = [k.strip() for k in items if k.strip()]
    for k in keys:
        if k not in STRATA_KEYS:
            raise UserInputError(
                f"unknown stratification key {k!r}; expected some of {', '.join(STRATA_KEYS)}",
                field="stratify",
            )
    return keys


def stratum_of(row: PromptRow, keys: Sequence[str]) -> tuple[str, ...]:
    """The row's stratum: one value per key ('(none)' where the row has no value)."""
    values: list[str | None] = []
    for k in keys:
        if k in ("l1", "l2", "l3"):
            values.append(row.level(int(k[1])))
        elif k == "intent":
            values.append(row.intent.value)
        elif k == "technique":
            values.append(row.technique)
        else:
            values.append(row.lang)
    return tuple(v if v else NONE_KEY for v in values)


def allocate(sizes: dict[tuple[str, ...], int], n: int) -> dict[tuple[str, ...], int]:
    """Proportional allocation of n over strata, every stratum getting at least one row when n allows.

    Start from the largest-remainder (Hamilton) quotas with a floor of one row per stratum, then take
    back from the most over-allocated strata (or give to the most under-allocated) until the total is
    n. When n is smaller than the number of strata, the n largest strata get one row each. Ties go to
    the larger stratum, then to the smaller key, so the result is deterministic. When n >= the total,
    every stratum is taken whole.
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    keys = sorted(sizes, key=lambda k: (-sizes[k], k))
    if n < len(keys):
        return {k: int(i < n) for i, k in enumerate(keys)}
    quotas = {k: n * s / total for k, s in sizes.items()}
    alloc = {k: min(sizes[k], max(1, int(quotas[k]))) for k in keys}
    while sum(alloc.values()) > n:
        k = max((k for k in keys if alloc[k] > 1), key=lambda k: (alloc[k] - quotas[k], sizes[k]))
        alloc[k] -= 1
    while sum(alloc.values()) < n:
        k = max((k for k in keys if alloc[k] < sizes[k]), key=lambda k: (quotas[k] - alloc[k], sizes[k]))
        alloc[k] += 1
    return alloc


@dataclass(frozen=True)
class Sample:
    """A drawn sample: the rows (in input order), the rows available, and the strata left without a row."""

    rows: list[PromptRow]
    available: int
    uncovered: list[tuple[str, ...]]


def draw_sample(
    rows: Sequence[PromptRow],
    n: int,
    stratify: Sequence[str],
    seed: int,
    exclude_ids: Collection[str] = frozenset(),
    exclude_hashes: Collection[str] = frozenset(),
) -> Sample:
    """Draw n rows (fewer if fewer remain), proportionally per stratum; same seed -> same sample.

    Rows whose id is in `exclude_ids` or whose content hash is in `exclude_hashes` are never drawn.
    """
    if n < 1:
        raise UserInputError(f"sample size must be at least 1, got {n}", field="n")
    keys = parse_stratify(stratify)
    excluded, excluded_hashes = set(exclude_ids), set(exclude_hashes)
    pool = [r for r in rows if r.id not in excluded and (not excluded_hashes or r.content_hash not in excluded_hashes)]
    strata: dict[tuple[str, ...], list[PromptRow]] = {}
    for row in pool:
        strata.setdefault(stratum_of(row, keys), []).append(row)
    alloc = allocate({k: len(v) for k, v in strata.items()}, n)
    chosen: set[str] = set()
    for key, members in strata.items():
        rng = random.Random(f"{seed}:{'|'.join(key)}")
        ordered = sorted(members, key=lambda r: r.id)
        chosen.update(r.id for r in rng.sample(ordered, alloc[key]))
    uncovered = sorted(k for k in strata if alloc[k] == 0)
    return Sample([r for r in pool if r.id in chosen], len(pool), uncovered)


def sample_prompts(
    rows: Sequence[PromptRow],
    n: int,
    stratify: Sequence[str],
    seed: int,
    exclude_ids: Collection[str] = frozenset(),
) -> list[PromptRow]:
    """The rows of `draw_sample` (for run configs' `sample:`)."""
    return draw_sample(rows, n, stratify, seed, exclude_ids).rows
