"""Load stage: the run's prompts are stored in batches and handed to generation as they are read.

The files were validated completely before anything was written (judge.prompts.loader.scan_prompt_sets),
so a bad line never leaves a half-written run; this second pass re-reads them and checks that they did
not change in between. Memory holds one batch of rows, whatever the size of the files.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from judge.prompts.model import PromptRow
from judge.stages.context import RunContext
from judge.store.rows import prompt_row, run_prompt_row

BATCH = 2000  # prompt rows per write


async def stream_prompts(ctx: RunContext, rows: Iterable[PromptRow], source: str) -> AsyncIterator[PromptRow]:
    """Store the rows (prompts + run_prompts) a batch at a time, then yield that batch's rows."""
    batch: list[PromptRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            for r in _stored(ctx, batch, source):
                yield r
            batch = []
            await asyncio.sleep(0)  # let answers come in between batches
    for r in _stored(ctx, batch, source):
        yield r


def _stored(ctx: RunContext, batch: list[PromptRow], source: str) -> list[PromptRow]:
    if not batch:
        return batch
    for p in batch:
        ctx.writer.add("prompts", prompt_row(p, source), journal=False)
        ctx.writer.add("run_prompts", run_prompt_row(ctx.run_id, p), journal=False)
    ctx.writer.maybe_flush()  # journaled now, committed in order before the answers that follow
    return batch
