"""Remote models through litellm (targets) and instructor over litellm (judges).

litellm is imported lazily: it takes seconds, and `judge --help` must answer fast.
"""

from __future__ import annotations

import json
import os
import time
from functools import cache
from typing import Any

from judge.config import ModelSpec
from judge.judging.verdict import JudgeVerdict
from judge.prompts.model import PromptRow
from judge.providers.base import CALL_GATE, CallRecord, Generation, JudgeRequest, JudgeResult, utcnow
from judge.providers.errors import ErrorInfo, FatalProviderError, classify_exception
from judge.providers.retrying import AdaptiveLimiter, RetryPolicy, run_with_retries
from judge.secrets import api_key_from_env, redact

BLOCKED_FINISH_REASONS = frozenset({"content_filter", "refusal"})
JUDGE_PARSE_RETRIES = 2  # instructor re-asks after an answer that does not fit the schema


@cache
def litellm_module() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.set_verbose = False
    return litellm


INSTRUCTOR_MODES = {"tools": "TOOLS", "json": "JSON", "md_json": "MD_JSON"}


@cache
def instructor_client(mode: str = "tools") -> Any:
    """instructor over litellm.acompletion, in the structured-output mode a judge is configured for."""
    import logging

    import instructor

    # instructor logs every failed attempt at ERROR; judge records them as model_calls instead
    logging.getLogger("instructor").setLevel(logging.CRITICAL)

    return instructor.from_litellm(send_completion, mode=getattr(instructor.Mode, INSTRUCTOR_MODES[mode]))


async def send_completion(**kwargs: Any) -> Any:
    """Every request to a remote model goes out here: the run's CallGate (its budget) reserves it first."""
    gate = CALL_GATE.get()
    ticket = await gate.reserve(str(kwargs.get("model", ""))) if gate is not None else None
    cost, answered = None, False
    try:
        resp = await litellm_module().acompletion(**kwargs)
        answered = True
        cost = token_cost(str(kwargs.get("model", "")), *_usage(resp))
        return resp
    finally:
        if ticket is not None:
            ticket.settle(cost, answered=answered)


_UNPRICED: set[str] = set()  # models litellm has no price for: not looked up again


def token_cost(model: str, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """litellm's price for these tokens (model as in the config, e.g. openai/gpt-4o-mini); None if unknown."""
    if (prompt_tokens is None and completion_tokens is None) or model in _UNPRICED:
        return None
    litellm = litellm_module()
    for name in (model, model.split("/", 1)[-1]):
        try:
            pc, cc = litellm.cost_per_token(
                model=name, prompt_tokens=prompt_tokens or 0, completion_tokens=completion_tokens or 0
            )
        except Exception:
            continue
        return float(pc or 0.0) + float(cc or 0.0)
    _UNPRICED.add(model)
    return None


def _usage(resp: Any) -> tuple[int | None, int | None]:
    usage = getattr(resp, "usage", None)
    if usage is None:
        return None, None
    return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)


class _Remote:
    offline = False

    def __init__(self, spec: ModelSpec, policy: RetryPolicy | None = None) -> None:
        self.spec = spec
        self.policy = policy or RetryPolicy(max_attempts=spec.max_attempts)
        self.limiter = AdaptiveLimiter(spec.concurrency)
        self._batch_api: Any = None

    def batch_api(self) -> Any:
        """The provider batch API for a `batch: true` model (judge.providers.batch), else None."""
        if self.spec.batch and self._batch_api is None:
            from judge.providers.batch import make_api

            self._batch_api = make_api(self.spec)
        return self._batch_api

    def _call_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.spec.model,
            "timeout": self.spec.timeout_s,
            "num_retries": 0,  # judge's retry policy owns retries (each HTTP call is recorded)
        }
        if self.spec.api_base:
            kwargs["api_base"] = self.spec.api_base
        key = api_key_from_env(self.spec.api_key_env)
        if key:
            kwargs["api_key"] = key
        return kwargs

    def _fatal(self, info: ErrorInfo) -> FatalProviderError:
        return FatalProviderError(self.spec.name, self.spec.api_key_env, info)


class LitellmTarget(_Remote):
    """A target model answering prompts through litellm.acompletion."""

    async def generate(self, prompt: PromptRow, messages: list[dict[str, str]]) -> Generation:
        calls: list[CallRecord] = []
        if self.spec.system_prompt:
            messages = [{"role": "system", "content": self.spec.system_prompt}, *messages]
        kwargs = {**self.spec.params, **self._call_kwargs(), "messages": messages}

        async def attempt(n: int) -> tuple[Generation, ErrorInfo | None]:
            started, t0 = utcnow(), time.perf_counter()
            try:
                resp = await send_completion(**kwargs)
            except Exception as exc:
                info = classify_exception(exc)
                latency = (time.perf_counter() - t0) * 1000
                blocked = info.kind == "content_filter"
                calls.append(
                    CallRecord(
                        n,
                        "blocked" if blocked else "error",
                        latency,
                        started,
                        info.http_status,
                        info.kind,
                        info.message,
                    )
                )
                if info.fatal:
                    raise self._fatal(info) from None
                if blocked:
                    return Generation("blocked", finish_reason="content_filter", calls=calls), None
                return Generation("error", error_kind=info.kind, error_message=info.message, calls=calls), info
            latency = (time.perf_counter() - t0) * 1000
            return self._parse(resp, n, started, latency, calls), None

        result, _ = await run_with_retries(attempt, self.policy, self.limiter)
        return result

    def _parse(self, resp: Any, n: int, started: Any, latency: float, calls: list[CallRecord]) -> Generation:
        choice = resp.choices[0]
        finish = getattr(choice, "finish_reason", None)
        text = getattr(choice.message, "content", None)
        pt, ct = _usage(resp)
        blocked = finish in BLOCKED_FINISH_REASONS
        calls.append(
            CallRecord(
                n,
                "blocked" if blocked else "ok",
                latency,
                started,
                200,
                None,
                None,
                pt,
                ct,
                token_cost(self.spec.model, pt, ct),
            )
        )
        if blocked:
            return Generation("blocked", text=text or None, finish_reason=finish, calls=calls)
        return Generation("ok", text=text or "", finish_reason=finish, calls=calls)


class LitellmJudge(_Remote):
    """An LLM judge: instructor over litellm, with a closed verdict schema and bounded re-asks."""

    async def grade(self, request: JudgeRequest) -> JudgeResult:
        calls: list[CallRecord] = []
        kwargs = {**self.spec.params, **self._call_kwargs()}

        async def attempt(n: int) -> tuple[JudgeResult, ErrorInfo | None]:
            result, info = await self._one_structured_call(request, kwargs, calls)
            if info is not None and info.fatal:
                raise self._fatal(info)
            return result, info

        result, _ = await run_with_retries(attempt, self.policy, self.limiter)
        result.calls = calls
        return result

    async def _one_structured_call(
        self, request: JudgeRequest, kwargs: dict[str, Any], calls: list[CallRecord]
    ) -> tuple[JudgeResult, ErrorInfo | None]:
        """One instructor call (1 + up to JUDGE_PARSE_RETRIES HTTP requests), each request recorded."""
        from instructor.core import InstructorRetryException

        clock = _CallClock(self.spec.model, calls)
        try:
            verdict, completion = await instructor_client(self.spec.judge_mode).create_with_completion(
                response_model=JudgeVerdict,
                messages=request.messages,
                max_retries=JUDGE_PARSE_RETRIES,
                hooks=clock.hooks(),
                **kwargs,
            )
        except InstructorRetryException as exc:
            return self._failure(exc)
        except Exception as exc:  # provider error outside instructor's retry loop
            info = classify_exception(exc)
            if not clock.recorded:
                clock.error(exc)
            return JudgeResult("error", error_kind=info.kind, error_message=info.message), info
        result = JudgeResult(
            "ok", tier=verdict.tier.value, rationale=verdict.rationale, raw_output=_raw_output(completion)
        )
        return result, None

    def _failure(self, exc: Exception) -> tuple[JudgeResult, ErrorInfo | None]:
        cause = exc.__cause__
        failed = getattr(exc, "failed_attempts", None) or []
        raw = _raw_output(getattr(exc, "last_completion", None))
        if cause is not None and not failed:
            info = classify_exception(cause)  # a provider error, not a parse failure
            return JudgeResult("error", raw_output=raw, error_kind=info.kind, error_message=info.message), info
        finish = _finish_reason(getattr(exc, "last_completion", None))
        kind = "judge_refused" if finish in BLOCKED_FINISH_REASONS else "judge_unparseable"
        message = redact(f"no valid verdict after {len(failed) or 1} answer(s): {str(cause or exc)[:500]}")
        # a judge that cannot produce a verdict is not retried again here: it is recorded
        return JudgeResult("error", raw_output=raw, error_kind=kind, error_message=message), None


class _CallClock:
    """Records one CallRecord per HTTP request instructor makes, through its per-call hooks."""

    def __init__(self, model: str, calls: list[CallRecord]) -> None:
        self.model = model
        self.calls = calls
        self.base = len(calls)
        self.t0 = time.perf_counter()
        self.started = utcnow()

    @property
    def recorded(self) -> bool:
        return len(self.calls) > self.base

    def hooks(self) -> Any:
        from instructor.core.hooks import Hooks

        hooks = Hooks()
        hooks.on("completion:kwargs", self.start)
        hooks.on("completion:response", self.response)
        hooks.on("completion:error", self.error)
        return hooks

    def start(self, *_: Any, **__: Any) -> None:
        self.t0, self.started = time.perf_counter(), utcnow()

    def _latency(self) -> float:
        return (time.perf_counter() - self.t0) * 1000

    def response(self, resp: Any) -> None:
        pt, ct = _usage(resp)
        n = len(self.calls) + 1
        cost = token_cost(self.model, pt, ct)
        self.calls.append(CallRecord(n, "ok", self._latency(), self.started, 200, None, None, pt, ct, cost))

    def error(self, exc: Exception, *_: Any, **__: Any) -> None:
        info = classify_exception(exc)
        n = len(self.calls) + 1
        self.calls.append(
            CallRecord(n, "error", self._latency(), self.started, info.http_status, info.kind, info.message)
        )


def _finish_reason(completion: Any) -> str | None:
    try:
        return str(completion.choices[0].finish_reason)
    except (AttributeError, IndexError, TypeError):
        return None


def _raw_output(completion: Any) -> str | None:
    """The judge's answer as it came back: tool-call arguments or message content."""
    if completion is None:
        return None
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return redact(str(completion)[:20000])
    tool_calls = getattr(message, "tool_calls", None) or []
    if tool_calls:
        return json.dumps([tc.function.arguments for tc in tool_calls])[:20000]
    content = getattr(message, "content", None)
    return content[:20000] if isinstance(content, str) else None
