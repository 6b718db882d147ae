"""Judge stage: every answered response of the run is classified by every judge of the run.

Responses are read from the store page by page (memory does not grow with the run). Each distinct
(judge, rubric, prompt, response text) is judged once: a verdict with the same cache key from an
earlier run, or from earlier in this run, is reused (stored with `reused_from`), and copies that
meet while the first is still being judged wait for its verdict instead of paying for their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Set
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from judge.judging.render import messages_as_text, render_judge_messages
from judge.prompts.model import PromptRow
from judge.providers.base import JudgeModel, JudgeRequest, JudgeResult, Usage, batch_api_of, utcnow
from judge.stages.context import RunContext, run_all
from judge.store.db import read_connection
from judge.store.pending import (
    ReusableVerdict,
    count_done_verdicts,
    count_ok_responses,
    prompt_columns_by_hash,
    responses_to_grade_page,
    reusable_verdicts,
    twin_response_groups,
)
from judge.store.rows import VerdictRow
from judge.store.runs import PROMPT_COLUMNS, prompt_from_row, stable_hash

PROMPT_FIELDS = tuple(c.removeprefix("p.") for c in PROMPT_COLUMNS.split(", "))

STAGE = "judge"
PAGE = 2000  # responses read from the store at a time
FIRST_PAGE = 128  # ... except the first page: the first requests go out while the rest is read


@dataclass(frozen=True)
class GradeItem:
    judge: JudgeModel
    prompt: PromptRow
    response_id: str
    response_text: str
    verdict_id: str
    cache_key: str
    has_twin: bool = False  # another response of this run has the same prompt and text


# What a finished job hands to the stage: the item, the rendered judge prompt, the result, and the
# verdict it was copied from (None when this item was judged itself).
Graded = tuple[GradeItem, str, JudgeResult, str | None]


def verdict_id(run_id: str, response_id: str, judge_key: str, rubric_version: str) -> str:
    return "verd-" + stable_hash(run_id, response_id, judge_key, rubric_version)


def judge_impl_version(judge: JudgeModel) -> str:
    return str(getattr(judge, "impl_version", ""))


def text_digest(response_text: str) -> str:
    return hashlib.sha256(response_text.encode("utf-8", "surrogatepass")).hexdigest()


def cache_key(judge: JudgeModel, rubric_version: str, prompt_hash: str, response_text: str) -> str:
    """Same judge, parameters, rubric, prompt and response text: the same verdict may be reused."""
    return "vc-" + stable_hash(
        judge.spec.key, judge_impl_version(judge), rubric_version, prompt_hash, text_digest(response_text)
    )


# ---- reading the work from the store ------------------------------------------------------------------
def _done_statuses(ctx: RunContext) -> tuple[str, ...]:
    return ("ok", "unsure") if ctx.retry_errors else ("ok", "unsure", "error")


def count_work(ctx: RunContext, judges: list[JudgeModel]) -> tuple[int, int]:
    """(verdicts the run needs, verdicts it already has) for these judges."""
    keys = [j.spec.key for j in judges]
    statuses = _done_statuses(ctx)
    with read_connection(ctx.writer.db_path) as con:
        n_responses = count_ok_responses(con, ctx.run_id)
        n_done = count_done_verdicts(con, ctx.run_id, ctx.rubric.version, keys, statuses)
    return n_responses * len(judges), n_done


@dataclass
class _Journal:
    """Rows of this run journaled but not committed yet (the database may be held by a reader).

    Read before the database: a segment committed in between is then seen twice, never missed.
    """

    responses: dict[str, dict[str, Any]]  # response_id -> row (the journal is newer: its rows win)
    verdicts: dict[tuple[str, str], bool]  # (response_id, judge_key) -> done?
    prompts: dict[str, dict[str, Any]]  # prompt_hash -> row

    @classmethod
    def read(cls, ctx: RunContext) -> _Journal:
        statuses = _done_statuses(ctx)
        responses = {r["response_id"]: r for r in ctx.writer.pending_rows("responses") if r.get("run_id") == ctx.run_id}
        verdicts = {
            (v["response_id"], v["judge_key"]): v.get("status") in statuses
            for v in ctx.writer.pending_rows("verdicts")
            if v.get("run_id") == ctx.run_id and v.get("rubric_version") == ctx.rubric.version
        }
        prompts = {p["prompt_hash"]: p for p in ctx.writer.pending_rows("prompts")} if responses else {}
        return cls(responses, verdicts, prompts)


def _items_for(
    ctx: RunContext,
    judges: list[JudgeModel],
    journal: _Journal,
    rid: str,
    phash: str,
    text: str,
    twin: bool,
    done: Set[str],
    prompt_cols: tuple[Any, ...],
) -> list[GradeItem]:
    items: list[GradeItem] = []
    prompt: PromptRow | None = None
    for judge in judges:
        if journal.verdicts.get((rid, judge.spec.key), judge.spec.key in done):
            continue
        prompt = prompt or prompt_from_row(prompt_cols)
        items.append(
            GradeItem(
                judge,
                prompt,
                rid,
                text,
                verdict_id(ctx.run_id, rid, judge.spec.key, ctx.rubric.version),
                cache_key(judge, ctx.rubric.version, phash, text),
                twin,
            )
        )
    return items


@dataclass(frozen=True)
class _Page:
    """Grade items read together, with the stored verdicts they may reuse (by cache key)."""

    items: list[GradeItem]
    reusable: dict[str, ReusableVerdict]


def _reusable_for(
    ctx: RunContext, con: duckdb.DuckDBPyConnection, items: list[GradeItem]
) -> dict[str, ReusableVerdict]:
    if not ctx.reuse_verdicts or not items:
        return {}
    return reusable_verdicts(con, sorted({i.cache_key for i in items}))


def _pages(ctx: RunContext, judges: list[JudgeModel]) -> Iterator[_Page]:
    """The run's pending grade items, one page of responses at a time (keyset paging), then the
    responses still only in the journal. The first page is small so the first requests go out while
    the rest is read; each page is read on one connection (opening one costs tens of milliseconds)."""
    journal = _Journal.read(ctx)
    statuses = list(_done_statuses(ctx))
    twins: set[tuple[str, str]] | None = None
    after = ""
    limit = FIRST_PAGE
    while True:
        with read_connection(ctx.writer.db_path) as con:
            if twins is None:
                twins = twin_response_groups(con, ctx.run_id)
            rows = responses_to_grade_page(con, ctx.run_id, ctx.rubric.version, statuses, after, limit)
            items: list[GradeItem] = []
            for r in rows:
                if r.response_id not in journal.responses:
                    twin = (r.prompt_hash, r.text_md5) in twins
                    items += _items_for(
                        ctx, judges, journal, r.response_id, r.prompt_hash, r.text, twin, r.judged_by, r.prompt_columns
                    )
            reusable = _reusable_for(ctx, con, items)
        if not rows:
            break
        after = rows[-1].response_id
        limit = min(limit * 4, PAGE)
        yield _Page(items, reusable)
    yield from _journal_pages(ctx, judges, journal)


def _journal_pages(ctx: RunContext, judges: list[JudgeModel], journal: _Journal) -> Iterator[_Page]:
    rows = [r for r in journal.responses.values() if r.get("status") == "ok"]
    if not rows:
        return
    with read_connection(ctx.writer.db_path) as con:
        prompts = prompt_columns_by_hash(con, sorted({r["prompt_hash"] for r in rows}))
        for h, p in journal.prompts.items():
            prompts[h] = tuple(p.get(c) for c in PROMPT_FIELDS)
        items: list[GradeItem] = []
        for r in sorted(rows, key=lambda r: str(r["response_id"])):
            if r["prompt_hash"] in prompts:
                text = r.get("text") or ""
                items += _items_for(
                    ctx,
                    judges,
                    journal,
                    r["response_id"],
                    r["prompt_hash"],
                    text,
                    False,
                    set(),
                    prompts[r["prompt_hash"]],
                )
        reusable = _reusable_for(ctx, con, items)
    yield _Page(items, reusable)


# ---- the stage ----------------------------------------------------------------------------------------
async def grade_stage(ctx: RunContext, judges: list[JudgeModel]) -> int:
    """Judge what the run is missing; returns how many verdicts were produced (reused ones included)."""
    total, done = count_work(ctx, judges)
    ctx.progress.start(STAGE, total, done)
    produced = 0
    batched: list[GradeItem] = []

    def on_done(result: Graded) -> None:
        nonlocal produced
        item, rendered, res, reused_from = result
        store_verdict(ctx, item, rendered, res, reused_from=reused_from)
        produced += 1
        ctx.progress.advance(STAGE, error=res.status == "error", cost_usd=Usage.total(res.calls).cost_usd)
        ctx.writer.maybe_flush()

    firsts: dict[str, asyncio.Future[Graded | None]] = {}

    async def jobs() -> AsyncIterator[Callable[[], Awaitable[Graded]]]:
        nonlocal produced
        pages = _pages(ctx, judges)
        page = next(pages, None)  # the first page (small): nothing is in flight yet to overlap it with
        while page is not None:
            pending = _reuse_cached(ctx, page) if ctx.reuse_verdicts else page.items
            produced += len(page.items) - len(pending)
            for item in pending:
                if batch_api_of(item.judge) is not None:
                    batched.append(item)
                else:
                    yield _job(ctx, item, firsts if ctx.reuse_verdicts and item.has_twin else None)
            # later pages are read in a thread (DuckDB releases the GIL while it reads): the event loop
            # goes on handling the answers of the requests in flight instead of stalling for the read
            page = await asyncio.to_thread(next, pages, None)

    await run_all(jobs(), on_done, meter=ctx.meter)
    if batched:
        from judge.stages.batch import grade_in_batches

        await grade_in_batches(ctx, batched, on_done)
    ctx.writer.flush()
    ctx.progress.finish(STAGE)
    return produced


def _reuse_cached(ctx: RunContext, page: _Page) -> list[GradeItem]:
    """Reuse ok verdicts with the same cache key (judge, parameters, rubric, prompt, response text);
    the items still to judge."""
    if not page.items:
        return page.items
    cached = page.reusable
    remaining = []
    for item in page.items:
        hit = cached.get(item.cache_key)
        if hit is None:
            remaining.append(item)
            continue
        res = JudgeResult(
            "ok",
            tier=hit.tier,
            confidence=hit.confidence,
            rationale=hit.rationale,
            raw_output=hit.raw_output,
            decided_by=hit.decided_by,
            cascade=json.loads(hit.cascade) if isinstance(hit.cascade, str) else hit.cascade,
        )
        store_verdict(ctx, item, "", res, reused_from=hit.verdict_id)
        ctx.progress.advance(STAGE, error=False, cost_usd=0.0)
    ctx.writer.maybe_flush()
    return remaining


def _job(
    ctx: RunContext, item: GradeItem, firsts: dict[str, asyncio.Future[Graded | None]] | None
) -> Callable[[], Awaitable[Graded]]:
    """Judge the item; a twin of an item being judged waits for that verdict and reuses it."""

    async def judge_it() -> Graded:
        messages = render_judge_messages(ctx.rubric, item.prompt, item.response_text)
        result = await item.judge.grade(JudgeRequest(item.prompt, item.response_text, messages))
        return item, messages_as_text(messages), result, None

    async def job() -> Graded:
        if firsts is None:
            return await judge_it()
        first = firsts.get(item.cache_key)
        if first is None:  # this item is the first of its kind: its verdict is shared
            mine: asyncio.Future[Graded | None] = asyncio.get_running_loop().create_future()
            firsts[item.cache_key] = mine
            graded: Graded | None = None
            try:
                graded = await judge_it()
                return graded
            finally:
                if not mine.done():
                    mine.set_result(graded)  # None when judging failed: the copies judge themselves
        leader = await asyncio.shield(first)
        if leader is None or leader[2].status == "error":
            return await judge_it()  # the first one failed: this copy is judged on its own
        first_item, rendered, res, _ = leader
        copy = replace(res, calls=[])
        return item, rendered, copy, first_item.verdict_id

    return job


def store_verdict(
    ctx: RunContext, item: GradeItem, rendered: str, res: JudgeResult, *, reused_from: str | None = None
) -> None:
    usage = Usage.total(res.calls)
    ctx.record_calls(STAGE, item.judge.spec.model, item.judge.spec.key, item.verdict_id, res.calls)
    # `rendered` is not stored: judge.store.audit.judge_prompt rebuilds it exactly from the rubric
    row = VerdictRow(
        verdict_id=item.verdict_id,
        run_id=ctx.run_id,
        response_id=item.response_id,
        judge_key=item.judge.spec.key,
        judge=item.judge.spec.name,
        rubric_version=ctx.rubric.version,
        cache_key=item.cache_key,
        status=res.status,
        tier=res.tier if res.status == "ok" else None,
        confidence=res.confidence,
        rationale=res.rationale,
        raw_output=res.raw_output,
        error_kind=res.error_kind,
        error_message=res.error_message,
        attempts=res.attempts,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        latency_ms=round(usage.latency_ms, 3),
        reused_from=reused_from,
        created_at=utcnow(),
        decided_by=res.decided_by,
        cascade=json.dumps(res.cascade, sort_keys=True) if res.cascade is not None else None,
    )
    ctx.writer.add_row(row)
