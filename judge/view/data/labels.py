"""Labelling in the browser: the same sample, order, resume rule and writes as `judge label`.

The sample is judge.compare.labeling.choose_sample over the run's answered responses (stratified
by intent and hazard, disagreements first), computed once per run state, n and seed; an item this
annotator already labelled in the label set is skipped; labels are written by
judge.compare.labeling.save_label, one short write transaction each, so a terminal session and a
browser session resume each other's work.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from judge.compare.gold import has_gold_table
from judge.compare.labeling import KEYS, LabelItem, choose_sample, labeled_keys, load_items, save_label
from judge.errors import UserInputError
from judge.view.context import ViewContext

TIER_KEYS = KEYS  # "1".."4" -> tier


@dataclass(frozen=True)
class LabelPage:
    run_id: str
    label_set: str
    annotator: str
    sample: int
    done: int
    position: int  # index of the item shown in the sample (session order)
    item: LabelItem | None
    skipped_left: int  # unlabelled items before `position` (skipped earlier in this pass)

    @property
    def remaining(self) -> int:
        return self.sample - self.done


def _sample(ctx: ViewContext, con: duckdb.DuckDBPyConnection, run_id: str) -> list[LabelItem]:
    stamp = ctx.indexes.stamp(con, run_id)

    def compute() -> list[LabelItem]:
        with ctx.read_background() as own:  # the request's connection closes before a slow sample ends
            return choose_sample(load_items(own, run_id), ctx.sample_n, ctx.seed)

    return ctx.background.get(
        ("sample", run_id, stamp, ctx.sample_n, ctx.seed),
        compute,
        wait_s=ctx.wait_s,
        run_id=run_id,
        what="the labelling sample",
    )


def _done(ctx: ViewContext, con: duckdb.DuckDBPyConnection) -> set[str]:
    return labeled_keys(con, ctx.label_set, ctx.annotator) if has_gold_table(con) else set()


def label_page(ctx: ViewContext, con: duckdb.DuckDBPyConnection, run_id: str, position: int) -> LabelPage:
    """The first item at or after `position` that this annotator has not labelled yet (None when none is left)."""
    sample = _sample(ctx, con, run_id)
    done = _done(ctx, con)
    in_sample = sum(1 for it in sample if it.response_id in done)
    position = max(0, position)
    current = next((i for i in range(position, len(sample)) if sample[i].response_id not in done), None)
    skipped = sum(1 for it in sample[: position if current is None else current] if it.response_id not in done)
    return LabelPage(
        run_id=run_id,
        label_set=ctx.label_set,
        annotator=ctx.annotator,
        sample=len(sample),
        done=in_sample,
        position=current if current is not None else len(sample),
        item=sample[current] if current is not None else None,
        skipped_left=skipped,
    )


def find(ctx: ViewContext, con: duckdb.DuckDBPyConnection, run_id: str, response_id: str) -> tuple[int, LabelItem]:
    """The sampled item with this response id and its position; not in the sample → UserInputError."""
    sample = _sample(ctx, con, run_id)
    position = next((i for i, it in enumerate(sample) if it.response_id == response_id), None)
    if position is None:
        raise UserInputError(f"response {response_id!r} is not in this labelling sample", field="response_id")
    return position, sample[position]


def save(ctx: ViewContext, run_id: str, item: LabelItem, tier: str) -> None:
    """Write one label exactly as `judge label` does (call with no read connection open: ctx.writing())."""
    if tier not in TIER_KEYS.values():
        raise UserInputError(f"expected one of {', '.join(TIER_KEYS.values())}", field="tier")
    with ctx.writing():
        save_label(ctx.db_path, run_id, item, tier, ctx.label_set, ctx.annotator)
