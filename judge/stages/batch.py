"""Batch stage path: a stage's items for models with a batch API are submitted, polled and stored.

The stages ask each model for its batch API (`batch_api_of`, judge.providers.base: None for online
models), so they do not branch on configuration; the SDK adapters live in judge.providers.batch.

Per model: items whose ids are already in an unfinished batch of the same run, stage and model
(a restarted run) are collected from that batch, never resubmitted; the rest are submitted in
batches of at most MAX_BATCH_ITEMS, each recorded in provider_batches right after submission.
Every batch is polled every `batch_poll_s` seconds; when it ends, each item's answer is stored
through the stage's `on_done` (exactly like an online answer), the writer is flushed, and only
then is the batch marked finished. A kill at any point loses nothing that a rerun cannot collect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from judge.config import ModelSpec
from judge.judging.render import messages_as_text, render_judge_messages
from judge.providers.base import CallRecord, batch_api_of, utcnow
from judge.providers.errors import ErrorInfo, FatalProviderError
from judge.secrets import redact
from judge.stages.batch_records import BatchRow, open_batches, save
from judge.stages.budget import BudgetExceeded

if TYPE_CHECKING:
    from judge.providers.batch.base import Answer, BatchAPI, PollState
    from judge.stages.context import RunContext

MAX_BATCH_ITEMS = 10_000
MAX_POLL_FAILURES = 5  # consecutive failed polls before the run stops (a rerun resumes polling)


def _charge(ctx: RunContext, calls: list[CallRecord]) -> None:
    for c in calls:
        ctx.meter.add_cost(c.cost_usd, answered=c.prompt_tokens is not None)


@dataclass
class ModelWork:
    """One model's pending items in one stage."""

    stage: str
    spec: ModelSpec
    api: BatchAPI
    ids: list[str]  # pending item ids (response_id / verdict_id = the requests' custom_id), in order
    build: Callable[[str], dict[str, Any]]  # the request body for an item
    deliver: Callable[[str, Answer, float, Any], None]  # store an item's answer (latency share, started_at)


async def generate_in_batches(ctx: RunContext, items: list[Any], on_done: Callable[[Any], None]) -> None:
    """Targets with `batch: true`: items are (TargetModel, PromptRow, response_id)."""
    works = []
    for group in _group(items, lambda it: it[0].spec.key).values():
        spec = group[0][0].spec
        api = _api(group[0][0])
        by_id = {rid: (target, prompt) for target, prompt, rid in group}

        def build(rid: str, api: BatchAPI = api, by_id: dict[str, Any] = by_id) -> dict[str, Any]:
            return api.target_body(by_id[rid][1].chat())

        def deliver(
            rid: str, a: Answer, latency: float, started: Any, spec: ModelSpec = spec, by_id: dict[str, Any] = by_id
        ) -> None:
            from judge.providers.batch.answers import to_generation

            gen = to_generation(spec, a, latency, started)
            _charge(ctx, gen.calls)
            on_done((spec, by_id[rid][1], rid, gen))

        works.append(ModelWork("generate", spec, api, list(by_id), build, deliver))
    await _run(ctx, works)


async def grade_in_batches(ctx: RunContext, items: list[Any], on_done: Callable[[Any], None]) -> None:
    """Judges with `batch: true`: items are GradeItem (judge.stages.grade)."""
    works = []
    for group in _group(items, lambda it: it.judge.spec.key).values():
        spec = group[0].judge.spec
        api = _api(group[0].judge)
        by_id = {item.verdict_id: item for item in group}
        rendered: dict[str, list[dict[str, str]]] = {}

        def messages(vid: str, by_id: dict[str, Any] = by_id, rendered: dict[str, Any] = rendered) -> Any:
            if vid not in rendered:
                item = by_id[vid]
                rendered[vid] = render_judge_messages(ctx.rubric, item.prompt, item.response_text)
            return rendered[vid]

        def build(vid: str, api: BatchAPI = api, messages: Any = messages) -> dict[str, Any]:
            return api.judge_body(messages(vid))

        def deliver(
            vid: str,
            a: Answer,
            latency: float,
            started: Any,
            spec: ModelSpec = spec,
            by_id: dict[str, Any] = by_id,
            messages: Any = messages,
        ) -> None:
            from judge.providers.batch.answers import to_judge_result

            result = to_judge_result(spec, a, latency, started)
            _charge(ctx, result.calls)
            on_done((by_id[vid], messages_as_text(messages(vid)), result, None))

        works.append(ModelWork("judge", spec, api, list(by_id), build, deliver))
    await _run(ctx, works)


def _api(model: object) -> BatchAPI:
    api = batch_api_of(model)
    assert api is not None, "only models with a batch API are given to the batch path"
    return api


def _group(items: list[Any], key: Callable[[Any], str]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for it in items:
        groups.setdefault(key(it), []).append(it)
    return groups


async def _run(ctx: RunContext, works: list[ModelWork]) -> None:
    tasks: list[asyncio.Future[None]] = []
    try:
        for work in works:
            tasks += [asyncio.ensure_future(f()) for f in await _submit_or_resume(ctx, work)]
        for fut in asyncio.as_completed(tasks):
            await fut
        if ctx.meter.stop_reason:
            raise BudgetExceeded(ctx.meter.stop_reason)
    finally:
        pending = [t for t in tasks if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for work in works:
            await work.api.aclose()


async def _submit_or_resume(ctx: RunContext, work: ModelWork) -> list[Callable[[], Awaitable[None]]]:
    spec = work.spec
    pending = set(work.ids)
    follows = []
    for row in open_batches(ctx.writer.db_path, ctx.run_id, work.stage, spec.key):
        mine = [i for i in row.item_ids if i in pending]
        if not mine:  # everything it held is stored already (or was resubmitted): nothing to collect
            row.finished_at, row.error = utcnow(), row.error or "no pending items left in this batch"
            save(ctx.writer, row)
            continue
        pending.difference_update(mine)
        follows.append(_follower(ctx, work, row, mine))
    fresh = [i for i in work.ids if i in pending]
    for start in range(0, len(fresh), MAX_BATCH_ITEMS):
        chunk = fresh[start : start + MAX_BATCH_ITEMS]
        chunk = chunk[: ctx.meter.grant(len(chunk))]  # each request is counted before it is submitted
        if not chunk:
            break
        submitted_at = utcnow()
        try:
            sub = await work.api.submit([(i, work.build(i)) for i in chunk])
        except FatalProviderError:
            raise
        except Exception as exc:  # the batch was not accepted: its items are errors, retried by a rerun
            message = redact(f"batch submission failed: {type(exc).__name__}: {exc}")
            from judge.providers.batch.base import Answer

            for i in chunk:
                work.deliver(i, Answer.failed(i, "batch_submit_failed", (message or "")[:2000]), 0.0, submitted_at)
            ctx.writer.flush()
            continue
        row = BatchRow(
            sub.batch_id,
            ctx.run_id,
            work.stage,
            spec.key,
            spec.model,
            work.api.provider,
            sub.status,
            chunk,
            submitted_at,
            input_file_id=sub.input_file_id,
        )
        save(ctx.writer, row)
        follows.append(_follower(ctx, work, row, chunk))
    return follows


def _follower(ctx: RunContext, work: ModelWork, row: BatchRow, ids: list[str]) -> Callable[[], Awaitable[None]]:
    async def follow() -> None:
        state = await _poll_until_done(ctx, work, row)
        answers = await _retrying(work, row, lambda: work.api.collect(row.batch_id, state))
        elapsed_ms = max(0.0, (utcnow() - row.submitted_at).total_seconds() * 1000)
        share = elapsed_ms / max(1, len(row.item_ids))
        from judge.providers.batch.base import Answer

        missing_kind = "batch_missing" if state.status in ("completed", "ended") else f"batch_{state.status}"
        for i in ids:
            a = answers.get(i) or Answer.failed(
                i, missing_kind, state.error or f"no answer for this request (batch {row.batch_id} {state.status})"
            )
            work.deliver(i, a, share, row.submitted_at)
        ctx.writer.flush()
        row.status, row.error = state.status, state.error
        row.output_file_id, row.error_file_id = state.output_file_id, state.error_file_id
        row.finished_at = utcnow()
        save(ctx.writer, row)

    return follow


async def _poll_until_done(ctx: RunContext, work: ModelWork, row: BatchRow) -> PollState:
    while True:
        state = await _retrying(work, row, lambda: work.api.poll(row.batch_id))
        if state.done:  # the final status is saved with finished_at, once the answers are stored
            return state
        if state.status != row.status:
            row.status = state.status
            save(ctx.writer, row)
        await asyncio.sleep(work.spec.batch_poll_s)


async def _retrying(work: ModelWork, row: BatchRow, call: Callable[[], Awaitable[Any]]) -> Any:
    failures = 0
    while True:
        try:
            return await call()
        except FatalProviderError:
            raise
        except Exception as exc:
            failures += 1
            if failures >= MAX_POLL_FAILURES:
                info = ErrorInfo("connection", redact(f"{type(exc).__name__}: {exc}")[:500], None)  # type: ignore[index]
                from judge.providers.batch.base import BatchUnavailable

                raise BatchUnavailable(work.spec.name, row.batch_id, info) from None
            await asyncio.sleep(work.spec.batch_poll_s)
