"""One batch answer → a Generation (targets) or a JudgeResult (judges), with its call record and cost."""

from __future__ import annotations

import json
from datetime import datetime

from judge.config import ModelSpec
from judge.providers.base import CallRecord, Generation, JudgeResult
from judge.providers.batch.base import Answer
from judge.providers.batch.structured import parse_verdict
from judge.secrets import redact

BATCH_DISCOUNT = 0.5  # batch APIs bill half the online price


def batch_cost(spec: ModelSpec, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """litellm's online price for these tokens, at the batch discount; None when unknown."""
    from judge.providers.litellm_backend import token_cost

    total = token_cost(spec.model, prompt_tokens, completion_tokens)
    return total * BATCH_DISCOUNT if total else None


def call_record(spec: ModelSpec, a: Answer, status: str, latency_ms: float, started: datetime) -> CallRecord:
    return CallRecord(
        attempt=1,
        status=status,  # type: ignore[arg-type]
        latency_ms=latency_ms,
        started_at=started,
        http_status=a.http_status,
        error_kind=None if status != "error" else a.error_kind,
        error_message=None if status != "error" else a.error_message,
        prompt_tokens=a.prompt_tokens,
        completion_tokens=a.completion_tokens,
        cost_usd=batch_cost(spec, a.prompt_tokens, a.completion_tokens) if a.ok else None,
    )


def to_generation(spec: ModelSpec, a: Answer, latency_ms: float, started: datetime) -> Generation:
    if not a.ok and a.error_kind == "content_filter":
        gen = Generation("blocked", finish_reason="content_filter")
    elif not a.ok:
        gen = Generation("error", error_kind=a.error_kind, error_message=a.error_message)
    elif a.blocked:
        gen = Generation("blocked", text=a.text or None, finish_reason=a.stop)
    else:
        gen = Generation("ok", text=a.text or "", finish_reason=a.stop)
    gen.calls = [call_record(spec, a, gen.status, latency_ms, started)]
    return gen


def _raw(a: Answer) -> str | None:
    """The judge's answer as stored for audit (tool-call arguments or text), as for online judges."""
    if a.tool_input is not None:
        args = a.tool_input if isinstance(a.tool_input, str) else json.dumps(a.tool_input)
        return json.dumps([args])[:20000]
    return a.text[:20000] if a.text else None


def to_judge_result(spec: ModelSpec, a: Answer, latency_ms: float, started: datetime) -> JudgeResult:
    """The verdict, or an explicit error record (refused / unparseable / request failed): never a default tier."""
    calls = [call_record(spec, a, "ok" if a.ok else "error", latency_ms, started)]
    if not a.ok:
        kind = "judge_refused" if a.error_kind == "content_filter" else a.error_kind
        return JudgeResult("error", error_kind=kind, error_message=a.error_message, calls=calls)
    raw = _raw(a)
    if a.blocked:
        return JudgeResult(
            "error",
            raw_output=raw,
            error_kind="judge_refused",
            error_message=f"the judge refused to answer (stop reason {a.stop})",
            calls=calls,
        )
    try:
        if a.body is None:
            raise ValueError("the batch line has no answer body")
        verdict = parse_verdict(spec.provider, spec.judge_mode, a.body)
    except Exception as exc:  # instructor raises ValidationError or its own parse errors: a record, never a tier
        return JudgeResult(
            "error",
            raw_output=raw,
            error_kind="judge_unparseable",
            error_message=redact(f"the answer does not fit the verdict schema: {str(exc)[:500]}"),
            calls=calls,
        )
    return JudgeResult("ok", tier=verdict.tier.value, rationale=verdict.rationale, raw_output=raw, calls=calls)
