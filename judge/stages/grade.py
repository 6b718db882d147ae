"""Judge stage: every answered response of the run is classified by every judge of the run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from judge.judging.render import messages_as_text, render_judge_messages
from judge.prompts.model import PromptRow
from judge.providers.base import JudgeModel, JudgeRequest, JudgeResult, Usage, utcnow
from judge.stages.context import RunContext, run_all
from judge.store.db import fetch, read_connection
from judge.store.runs import stable_hash

STAGE = "judge"


@dataclass(frozen=True)
class GradeItem:
    judge: JudgeModel
    prompt: PromptRow
    response_id: str
    response_text: str
    verdict_id: str
    cache_key: str


def verdict_id(run_id: str, response_id: str, judge_key: str, rubric_version: str) -> str:
    return "verd-" + stable_hash(run_id, response_id, judge_key, rubric_version)


def judge_impl_version(judge: JudgeModel) -> str:
    return str(getattr(judge, "impl_version", ""))


def cache_key(judge: JudgeModel, rubric_version: str, prompt_hash: str, response_text: str) -> str:
    """Same judge, parameters, rubric, prompt and response text: the same verdict may be reused."""
    text_hash = hashlib.sha256(response_text.encode("utf-8", "surrogatepass")).hexdigest()
    return "vc-" + stable_hash(judge.spec.key, judge_impl_version(judge), rubric_version, prompt_hash, text_hash)


def _load_work(ctx: RunContext) -> tuple[list[tuple[str, str, str]], set[tuple[str, str]]]:
    statuses = ("ok", "unsure") if ctx.retry_errors else ("ok", "unsure", "error")
    # rows still in the journal (the database may be held by a reader): read before the database
    pending_responses = ctx.writer.pending_rows("responses")
    pending_verdicts = ctx.writer.pending_rows("verdicts")
    with read_connection(ctx.writer.db_path) as con:
        responses = fetch(
            con,
            "SELECT response_id, prompt_hash, text FROM responses WHERE run_id = ? AND status = 'ok' "
            "ORDER BY response_id",
            [ctx.run_id],
        )
        verdicts = fetch(
            con,
            f"SELECT response_id, judge_key FROM verdicts WHERE run_id = ? AND rubric_version = ? "
            f"AND status IN ({', '.join('?' * len(statuses))})",
            [ctx.run_id, ctx.rubric.version, *statuses],
        )
    stored = {r[0]: (r[0], r[1], r[2] or "") for r in responses}
    for r in pending_responses:  # the journal is newer than the database: its rows win
        if r.get("run_id") != ctx.run_id:
            continue
        if r.get("status") == "ok":
            stored[r["response_id"]] = (r["response_id"], r["prompt_hash"], r.get("text") or "")
        else:
            stored.pop(r["response_id"], None)
    done = {(v[0], v[1]) for v in verdicts}
    for v in pending_verdicts:
        if v.get("run_id") == ctx.run_id and v.get("rubric_version") == ctx.rubric.version:
            pair = (v["response_id"], v["judge_key"])
            if v.get("status") in statuses:
                done.add(pair)
            else:
                done.discard(pair)
    return sorted(stored.values()), done


def plan(ctx: RunContext, judges: list[JudgeModel]) -> tuple[list[GradeItem], int]:
    responses, done = _load_work(ctx)
    by_hash = {p.content_hash: p for p in ctx.prompts}
    items: list[GradeItem] = []
    for judge in judges:
        for rid, phash, text in responses:
            if (rid, judge.spec.key) in done or phash not in by_hash:
                continue
            items.append(
                GradeItem(
                    judge,
                    by_hash[phash],
                    rid,
                    text,
                    verdict_id(ctx.run_id, rid, judge.spec.key, ctx.rubric.version),
                    cache_key(judge, ctx.rubric.version, phash, text),
                )
            )
    return items, len(responses) * len(judges)


async def grade_stage(ctx: RunContext, judges: list[JudgeModel]) -> None:
    items, total = plan(ctx, judges)
    ctx.progress.start(STAGE, total, total - len(items))
    if ctx.reuse_verdicts:
        items = _reuse_cached(ctx, items)

    def on_done(result: tuple[GradeItem, str, JudgeResult]) -> None:
        item, rendered, res = result
        store_verdict(ctx, item, rendered, res)
        ctx.progress.advance(STAGE, error=res.status == "error", cost_usd=Usage.total(res.calls).cost_usd)
        ctx.writer.maybe_flush()
        ctx.meter.charge(res.calls, offline=item.judge.offline)

    await run_all([_job(ctx, item) for item in items if not item.judge.spec.batch], on_done)
    batched = [item for item in items if item.judge.spec.batch]
    if batched:
        from judge.providers.batch.runner import grade_in_batches

        await grade_in_batches(ctx, batched, on_done)
    ctx.writer.flush()
    ctx.progress.finish(STAGE)


def _reuse_cached(ctx: RunContext, items: list[GradeItem]) -> list[GradeItem]:
    """Reuse ok verdicts with the same cache key (judge, parameters, rubric, prompt, response text)."""
    if not items:
        return items
    with read_connection(ctx.writer.db_path) as con:
        rows = fetch(
            con,
            """SELECT cache_key, verdict_id, tier, confidence, rationale, raw_output, judge_prompt
               FROM verdicts WHERE status = 'ok' AND reused_from IS NULL
                 AND cache_key IN (SELECT unnest(?::VARCHAR[]))""",
            [sorted({i.cache_key for i in items})],
        )
    cached = {r[0]: r for r in rows}
    remaining = []
    for item in items:
        hit = cached.get(item.cache_key)
        if hit is None:
            remaining.append(item)
            continue
        res = JudgeResult("ok", tier=hit[2], confidence=hit[3], rationale=hit[4], raw_output=hit[5])
        store_verdict(ctx, item, hit[6], res, reused_from=hit[1])
        ctx.progress.advance(STAGE, error=False, cost_usd=0.0)
    ctx.writer.maybe_flush()
    return remaining


def _job(ctx: RunContext, item: GradeItem) -> Callable[[], Awaitable[tuple[GradeItem, str, JudgeResult]]]:
    async def job() -> tuple[GradeItem, str, JudgeResult]:
        messages = render_judge_messages(ctx.rubric, item.prompt, item.response_text)
        result = await item.judge.grade(JudgeRequest(item.prompt, item.response_text, messages))
        return item, messages_as_text(messages), result

    return job


def store_verdict(
    ctx: RunContext, item: GradeItem, rendered: str, res: JudgeResult, *, reused_from: str | None = None
) -> None:
    usage = Usage.total(res.calls)
    ctx.record_calls(STAGE, item.judge.spec.model, item.judge.spec.key, item.verdict_id, res.calls)
    row: dict[str, Any] = {
        "verdict_id": item.verdict_id,
        "run_id": ctx.run_id,
        "response_id": item.response_id,
        "judge_key": item.judge.spec.key,
        "judge": item.judge.spec.name,
        "rubric_version": ctx.rubric.version,
        "cache_key": item.cache_key,
        "status": res.status,
        "tier": res.tier if res.status == "ok" else None,
        "confidence": res.confidence,
        "rationale": res.rationale,
        "judge_prompt": rendered,
        "raw_output": res.raw_output,
        "error_kind": res.error_kind,
        "error_message": res.error_message,
        "attempts": res.attempts,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "latency_ms": round(usage.latency_ms, 3),
        "reused_from": reused_from,
        "created_at": utcnow(),
    }
    if res.decided_by is not None or res.cascade is not None:
        row["decided_by"] = res.decided_by
        row["cascade"] = json.dumps(res.cascade, sort_keys=True) if res.cascade is not None else None
    ctx.writer.add("verdicts", row)
