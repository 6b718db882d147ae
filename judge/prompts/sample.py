"""Stratified, reproducible sampling of prompt rows (proportional allocation, largest remainder)."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from pathlib import Path

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
    """Proportional allocation of n over strata with largest-remainder rounding (Hamilton's method).

    Ties in the remainder go to the larger stratum, then to the smaller key, so the result is
    deterministic. When n >= the total, every stratum is taken whole.
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    quotas = {k: n * s / total for k, s in sizes.items()}
    alloc = {k: int(q) for k, q in quotas.items()}
    left = n - sum(alloc.values())
    order = sorted(sizes, key=lambda k: (-(quotas[k] - alloc[k]), -sizes[k], k))
    for k in order[:left]:
        alloc[k] += 1
    return alloc


def sample_prompts(
    rows: Sequence[PromptRow],
    n: int,
    stratify: Sequence[str],
    seed: int,
    exclude_ids: Collection[str] = frozenset(),
) -> list[PromptRow]:
    """Draw n rows (fewer if fewer remain), proportionally per stratum; same seed -> same sample.

    Rows whose id is in `exclude_ids` are never drawn. The result keeps the input order.
    """
    if n < 1:
        raise UserInputError(f"sample size must be at least 1, got {n}", field="n")
    keys = parse_stratify(stratify)
    excluded = set(exclude_ids)
    pool = [r for r in rows if r.id not in excluded]
    strata: dict[tuple[str, ...], list[PromptRow]] = {}
    for row in pool:
        strata.setdefault(stratum_of(row, keys), []).append(row)
    alloc = allocate({k: len(v) for k, v in strata.items()}, n)
    chosen: set[str] = set()
    for key, members in strata.items():
        rng = random.Random(f"{seed}:{'|'.join(key)}")
        ordered = sorted(members, key=lambda r: r.id)
        chosen.update(r.id for r in rng.sample(ordered, alloc[key]))
    return [r for r in pool if r.id in chosen]


# --- prompts already used by stored runs -------------------------------------------------------
def ids_used_by_runs(db: str | Path, runs: Sequence[str], rows: Sequence[PromptRow]) -> set[str]:
    """Ids of `rows` that stored runs already used (same id or same content hash).

    Each run is an id, a unique prefix, `latest`, `latest:NAME`, or `all` (every stored run).
    """
    from judge.store.db import fetch, read_connection
    from judge.store.runs import resolve_run

    ids: set[str] = set()
    hashes: set[str] = set()
    with read_connection(db) as con:
        for ref in runs:
            if ref == "all":
                result = fetch(con, "SELECT prompt_id, prompt_hash FROM run_prompts")
            else:
                run_id = resolve_run(con, ref)
                result = fetch(con, "SELECT prompt_id, prompt_hash FROM run_prompts WHERE run_id = ?", [run_id])
            ids.update(str(r[0]) for r in result)
            hashes.update(str(r[1]) for r in result)
    return {r.id for r in rows if r.id in ids or r.content_hash in hashes}
