"""Generator stage: every (prompt, target) pair of the run that has no response yet is answered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from judge.config import ModelSpec
from judge.prompts.model import PromptRow
from judge.providers.base import Generation, TargetModel, Usage, utcnow
from judge.stages.context import RunContext, run_all
from judge.store.db import fetch, read_connection
from judge.store.runs import stable_hash

STAGE = "generate"


def response_id(run_id: str, target_key: str, prompt_hash: str) -> str:
    return "resp-" + stable_hash(run_id, target_key, prompt_hash)


def _done_responses(ctx: RunContext) -> set[str]:
    """Responses already finished (ok or blocked; errors too unless they are to be retried)."""
    statuses = ("ok", "blocked") if ctx.retry_errors else ("ok", "blocked", "error")
    with read_connection(ctx.writer.db_path) as con:
        rows = fetch(
            con,
            f"SELECT response_id FROM responses WHERE run_id = ? AND status IN ({', '.join('?' * len(statuses))})",
            [ctx.run_id, *statuses],
        )
    return {r[0] for r in rows}


async def generate_stage(ctx: RunContext, targets: list[TargetModel]) -> None:
    done = _done_responses(ctx)
    jobs: list[Callable[[], Awaitable[tuple[ModelSpec, PromptRow, str, Generation]]]] = []
    for target in targets:
        for prompt in ctx.prompts:
            rid = response_id(ctx.run_id, target.spec.key, prompt.content_hash)
            if rid not in done:
                jobs.append(_job(target, prompt, rid))
    total = len(targets) * len(ctx.prompts)
    ctx.progress.start(STAGE, total, total - len(jobs))

    def on_done(result: tuple[ModelSpec, PromptRow, str, Generation]) -> None:
        spec, prompt, rid, gen = result
        _store(ctx, spec, prompt, rid, gen)
        ctx.progress.advance(STAGE, error=gen.status == "error", cost_usd=Usage.total(gen.calls).cost_usd)
        ctx.writer.maybe_flush()

    await run_all(jobs, on_done)
    ctx.writer.flush()
    ctx.progress.finish(STAGE)


def _job(
    target: TargetModel, prompt: PromptRow, rid: str
) -> Callable[[], Awaitable[tuple[ModelSpec, PromptRow, str, Generation]]]:
    async def job() -> tuple[ModelSpec, PromptRow, str, Generation]:
        return target.spec, prompt, rid, await target.generate(prompt, prompt.chat())

    return job


def _store(ctx: RunContext, spec: ModelSpec, prompt: PromptRow, rid: str, gen: Generation) -> None:
    usage = Usage.total(gen.calls)
    ctx.record_calls(STAGE, spec.model, spec.key, rid, gen.calls)
    row: dict[str, Any] = {
        "response_id": rid,
        "run_id": ctx.run_id,
        "prompt_hash": prompt.content_hash,
        "prompt_id": prompt.id,
        "target_key": spec.key,
        "target": spec.name,
        "status": gen.status,
        "text": gen.text,
        "finish_reason": gen.finish_reason,
        "error_kind": gen.error_kind,
        "error_message": gen.error_message,
        "attempts": gen.attempts,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "latency_ms": round(usage.latency_ms, 3),
        "created_at": utcnow(),
    }
    ctx.writer.add("responses", row)
