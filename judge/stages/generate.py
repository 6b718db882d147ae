"""Generator stage: every (prompt, target) pair of the run that has no response yet is answered.

Prompts arrive as a stream (judge.stages.load stores them in batches meanwhile), so the first
requests go out while the rest of a large prompt file is still being read.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable

from judge.config import ModelSpec
from judge.prompts.model import PromptRow
from judge.providers.base import Generation, TargetModel, Usage, batch_api_of, utcnow
from judge.providers.errors import FatalProviderError
from judge.stages.context import RunContext, run_all
from judge.store.db import read_connection
from judge.store.pending import ReusableResponse, finished_response_ids, reusable_responses
from judge.store.rows import ResponseRow
from judge.store.runs import stable_hash

STAGE = "generate"

# One pending item: the target, the prompt and the response id it will be stored under.
GenItem = tuple[TargetModel, PromptRow, str]
GenResult = tuple[ModelSpec, PromptRow, str, Generation]


def response_id(run_id: str, target_key: str, prompt_hash: str) -> str:
    return "resp-" + stable_hash(run_id, target_key, prompt_hash)


def _done_responses(ctx: RunContext) -> set[str]:
    """Responses already finished (ok or blocked; errors too unless they are to be retried)."""
    statuses = ("ok", "blocked") if ctx.retry_errors else ("ok", "blocked", "error")
    pending = ctx.writer.pending_rows("responses")  # not yet committed (read before the database)
    with read_connection(ctx.writer.db_path) as con:
        done = finished_response_ids(con, ctx.run_id, statuses)
    for r in pending:
        if r.get("run_id") == ctx.run_id:
            (done.add if r.get("status") in statuses else done.discard)(r["response_id"])
    return done


async def _each(prompts: Iterable[PromptRow] | AsyncIterable[PromptRow]) -> AsyncIterator[PromptRow]:
    if isinstance(prompts, AsyncIterable):
        async for p in prompts:
            yield p
    else:
        for p in prompts:
            yield p


async def generate_stage(
    ctx: RunContext,
    targets: list[TargetModel],
    prompts: Iterable[PromptRow] | AsyncIterable[PromptRow],
    n_prompts: int,
) -> None:
    """Answer every pending (prompt, target) pair; `prompts` may be a stream of `n_prompts` rows."""
    done = _done_responses(ctx)
    total = len(targets) * n_prompts
    ctx.progress.start(STAGE, total, min(len(done), total))
    previous = _previous_responses(ctx) if ctx.reuse_responses else {}
    batched: list[GenItem] = []

    def on_done(result: GenResult) -> None:
        spec, prompt, rid, gen = result
        store_generation(ctx, spec, prompt, rid, gen)
        ctx.progress.advance(STAGE, error=gen.status == "error", cost_usd=Usage.total(gen.calls).cost_usd)
        ctx.writer.maybe_flush()

    async def jobs() -> AsyncIterator[Callable[[], Awaitable[GenResult]]]:
        async for prompt in _each(prompts):
            for target in targets:
                rid = response_id(ctx.run_id, target.spec.key, prompt.content_hash)
                if rid in done:
                    continue
                prev = previous.get((target.spec.key, prompt.content_hash))
                if prev is not None:
                    _store_reused(ctx, target.spec, prompt, rid, prev)
                elif batch_api_of(target) is not None:
                    batched.append((target, prompt, rid))
                else:
                    yield _job(ctx, target, prompt, rid)

    await run_all(jobs(), on_done, meter=ctx.meter)
    if batched:
        from judge.stages.batch import generate_in_batches

        await generate_in_batches(ctx, batched, on_done)
    ctx.writer.flush()
    ctx.progress.finish(STAGE)


def _job(ctx: RunContext, target: TargetModel, prompt: PromptRow, rid: str) -> Callable[[], Awaitable[GenResult]]:
    async def job() -> GenResult:
        try:
            return target.spec, prompt, rid, await target.generate(prompt, prompt.chat())
        except FatalProviderError as exc:  # the run stops; the request that said so is still a model call
            ctx.record_fatal_calls(STAGE, target.spec.model, target.spec.key, rid, exc)
            raise

    return job


def _previous_responses(ctx: RunContext) -> dict[tuple[str, str], ReusableResponse]:
    """The latest ok response of each (target config, prompt) from earlier runs (reuse_responses)."""
    with read_connection(ctx.writer.db_path) as con:
        return reusable_responses(con, ctx.run_id)


def _store_reused(ctx: RunContext, spec: ModelSpec, prompt: PromptRow, rid: str, prev: ReusableResponse) -> None:
    gen = Generation("ok", text=prev.text, finish_reason=prev.finish_reason)
    store_generation(ctx, spec, prompt, rid, gen, reused_from=prev.response_id)
    ctx.progress.advance(STAGE, error=False, cost_usd=0.0)
    ctx.writer.maybe_flush()


def store_generation(
    ctx: RunContext, spec: ModelSpec, prompt: PromptRow, rid: str, gen: Generation, *, reused_from: str | None = None
) -> None:
    usage = Usage.total(gen.calls)
    ctx.record_calls(STAGE, spec.model, spec.key, rid, gen.calls)
    row = ResponseRow(
        response_id=rid,
        run_id=ctx.run_id,
        prompt_hash=prompt.content_hash,
        prompt_id=prompt.id,
        target_key=spec.key,
        target=spec.name,
        status=gen.status,
        text=gen.text,
        finish_reason=gen.finish_reason,
        error_kind=gen.error_kind,
        error_message=gen.error_message,
        attempts=gen.attempts,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        latency_ms=round(usage.latency_ms, 3),
        reused_from=reused_from,
        created_at=utcnow(),
    )
    ctx.writer.add_row(row)
