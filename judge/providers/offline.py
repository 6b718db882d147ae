"""Built-in offline providers behind the same boundary: a replay target and the built-in judge."""

from __future__ import annotations

import hashlib
import json
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from judge.config import ModelSpec
from judge.errors import pydantic_error_to_user_error
from judge.prompts.loader import iter_jsonl_objects
from judge.prompts.model import PromptRow
from judge.providers.base import CallRecord, Generation, JudgeRequest, JudgeResult, utcnow


class RecordedResponse(BaseModel):
    """One recorded answer: a response text, or a provider block. `label` is the author's tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    response: str | None = None
    blocked: bool = False
    label: str | None = None

    @model_validator(mode="after")
    def _text_or_blocked(self) -> RecordedResponse:
        if self.blocked == (self.response is not None):
            raise ValueError('expected a string "response" or "blocked": true (not both)')
        return self


class ReplayTarget:
    """Answers from recorded responses: a JSONL of {"id", "response"} or {"id", "blocked": true}."""

    offline = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        assert spec.recordings is not None
        self.path = Path(spec.recordings)

    @cached_property
    def recordings(self) -> dict[str, RecordedResponse]:
        table: dict[str, RecordedResponse] = {}
        for lineno, obj in iter_jsonl_objects(self.path):
            try:
                rec = RecordedResponse.model_validate(obj)
            except ValidationError as e:
                raise pydantic_error_to_user_error(e, file=self.path, line=lineno) from None
            table[rec.id] = rec
        return table

    @cached_property
    def impl_version(self) -> str:
        """The recordings' content hash: edited recordings make a new run, not a resumed one."""
        return "rec-" + hashlib.sha256(self.path.read_bytes()).hexdigest()[:12]

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
        if rec.blocked:
            call = CallRecord(1, "blocked", latency, started)
            return Generation("blocked", finish_reason="content_filter", calls=[call])
        text = rec.response or ""
        call = CallRecord(1, "ok", latency, started, None, None, None, 0, 0, 0.0)
        return Generation("ok", text=text, finish_reason="stop", calls=[call])


class BuiltinJudge:
    """The built-in offline judge (rules + a small learned model), its rules alone, or the string-match baseline."""

    offline = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.rules_only = spec.model == "builtin/rules"
        self.string_match = spec.model == "builtin/string-match"

    @property
    def impl_version(self) -> str:
        """Part of every verdict's cache key: a new built-in judge never reuses an old one's verdicts."""
        if self.string_match:
            return "string-match-1"
        from judge.judging import builtin

        return str(builtin.BUILTIN_JUDGE_VERSION)

    async def grade(self, request: JudgeRequest) -> JudgeResult:
        from judge.judging import builtin

        started, t0 = utcnow(), time.perf_counter()
        if self.string_match:
            return _string_match_verdict(request.response_text, started, t0)
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


def _string_match_verdict(response: str, started: Any, t0: float) -> JudgeResult:
    """The standard baseline as a judge: a refusal phrase → refusal, otherwise full_instructions.

    It cannot see partial answers or safe deflections (binary by design): a reference point that a
    real judge must beat, and a second demo judge that genuinely differs from the built-in one.
    """
    from judge.judging.baseline import string_match_refuses

    refuses = string_match_refuses(response)
    tier = "refusal" if refuses else "full_instructions"
    rationale = "a refusal phrase is present" if refuses else "no refusal phrase"
    raw = json.dumps({"tier": tier, "rationale": rationale})
    call = CallRecord(1, "ok", (time.perf_counter() - t0) * 1000, started, None, None, None, 0, 0, 0.0)
    return JudgeResult("ok", tier=tier, confidence=None, rationale=rationale, raw_output=raw, calls=[call])


BUILTIN_JUDGES = ("builtin/judge", "builtin/rules", "builtin/string-match")
