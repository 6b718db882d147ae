"""Built-in offline providers behind the same boundary: a replay target and the built-in judge."""

from __future__ import annotations

import json
import time
from functools import cached_property
from pathlib import Path

from judge.config import ModelSpec
from judge.errors import UserInputError
from judge.prompts.loader import iter_jsonl_objects
from judge.prompts.model import PromptRow
from judge.providers.base import CallRecord, Generation, JudgeRequest, JudgeResult, utcnow


class ReplayTarget:
    """Answers from recorded responses: a JSONL of {"id", "response"} or {"id", "blocked": true}."""

    offline = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        assert spec.recordings is not None
        self.path = Path(spec.recordings)

    @cached_property
    def recordings(self) -> dict[str, dict[str, object]]:
        table: dict[str, dict[str, object]] = {}
        for lineno, obj in iter_jsonl_objects(self.path):
            pid = obj.get("id")
            if not isinstance(pid, str) or not pid:
                raise UserInputError("expected a non-empty string", file=self.path, line=lineno, field="id")
            blocked = obj.get("blocked", False)
            if not blocked and not isinstance(obj.get("response"), str):
                raise UserInputError(
                    'expected a string (or "blocked": true)', file=self.path, line=lineno, field="response"
                )
            table[pid] = obj
        return table

    def preflight(self) -> None:
        """Read and check the recordings before the run writes anything."""
        _ = self.recordings

    async def generate(self, prompt: PromptRow, messages: list[dict[str, str]]) -> Generation:
        started, t0 = utcnow(), time.perf_counter()
        rec = self.recordings.get(prompt.id)
        latency = (time.perf_counter() - t0) * 1000
        if rec is None:
            msg = f"no recorded response for prompt id {prompt.id!r} in {self.path.name}"
            call = CallRecord(1, "error", latency, started, None, "no_recording", msg)
            return Generation("error", error_kind="no_recording", error_message=msg, calls=[call])
        if rec.get("blocked"):
            call = CallRecord(1, "blocked", latency, started)
            return Generation("blocked", finish_reason="content_filter", calls=[call])
        text = str(rec["response"])
        call = CallRecord(1, "ok", latency, started, None, None, None, 0, 0, 0.0)
        return Generation("ok", text=text, finish_reason="stop", calls=[call])


class BuiltinJudge:
    """The built-in offline judge (rules + a small learned model), or its rules alone."""

    offline = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.rules_only = spec.model == "builtin/rules"

    async def grade(self, request: JudgeRequest) -> JudgeResult:
        from judge.judging import builtin

        started, t0 = utcnow(), time.perf_counter()
        fn = builtin.classify_rules_only if self.rules_only else builtin.classify
        try:
            v = fn(request.prompt.text, request.response_text)
        except Exception as exc:  # a bug must surface as an error record, never a default tier
            latency = (time.perf_counter() - t0) * 1000
            msg = f"{type(exc).__name__}: {exc}"
            call = CallRecord(1, "error", latency, started, None, "builtin_failure", msg)
            return JudgeResult("error", error_kind="builtin_failure", error_message=msg, calls=[call])
        latency = (time.perf_counter() - t0) * 1000
        raw = json.dumps(
            {
                "tier": v.tier.value,
                "confidence": round(v.confidence, 4),
                "cues": list(v.cues),
                "rationale": v.rationale,
            },
            ensure_ascii=False,
        )
        call = CallRecord(1, "ok", latency, started, None, None, None, 0, 0, 0.0)
        return JudgeResult(
            "ok", tier=v.tier.value, confidence=v.confidence, rationale=v.rationale, raw_output=raw, calls=[call]
        )


BUILTIN_JUDGES = ("builtin/judge", "builtin/rules")
