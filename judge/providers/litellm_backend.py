"""Remote models through litellm (targets) and instructor over litellm (judges).

The path for every provider the lean transport (judge.providers.lean) does not cover, and for
models configured with `transport: litellm`. litellm is imported lazily, on the first request that
needs it: it takes seconds, and `judge --help` must answer fast.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from functools import cache, cached_property
from typing import Any, Literal

from judge.config import ModelSpec
from judge.judging.verdict import JudgeVerdict
from judge.prompts.model import PromptRow
from judge.providers.base import CALL_GATE, CallRecord, Generation, JudgeRequest, JudgeResult, utcnow
from judge.providers.errors import ErrorInfo, FatalProviderError, classify_exception
from judge.providers.flow import ReplicaSet
from judge.providers.outcomes import (
    BLOCKED_FINISH_REASONS,
    JUDGE_PARSE_RETRIES,
    empty_answer,
    finish_reason,
    no_verdict_message,
    raw_output,
)
from judge.providers.outcomes import usage_tokens as _usage
from judge.providers.prices import token_cost
from judge.providers.retrying import RetryPolicy, run_with_retries
from judge.providers.structured import INSTRUCTOR_MODES, verdict_call_problem, verdict_request
from judge.secrets import api_key_from_env, redact

__all__ = ["JUDGE_PARSE_RETRIES", "LitellmJudge", "LitellmTarget", "litellm_module", "token_cost"]
BeforeSend = Callable[[], Awaitable[None]]


@cache
def litellm_module() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.set_verbose = False
    return litellm


def instructor_client(mode: str, acompletion: Callable[..., Awaitable[Any]]) -> Any:
    """instructor over an acompletion function, in the structured-output mode a judge is configured for."""
    import logging

    import instructor

    # instructor logs every failed attempt at ERROR; judge records them as model_calls instead
    logging.getLogger("instructor").setLevel(logging.CRITICAL)
    return instructor.from_litellm(acompletion, mode=getattr(instructor.Mode, INSTRUCTOR_MODES[mode]))


class _Remote:
    offline = False
    transport = "litellm"

    def __init__(self, spec: ModelSpec, policy: RetryPolicy | None = None, replicas: ReplicaSet | None = None) -> None:
        self.spec = spec
        self.policy = policy or RetryPolicy(max_attempts=spec.max_attempts)
        self.replicas = replicas or ReplicaSet([b or "" for b in spec.api_bases], spec.concurrency)
        # awaited before every HTTP request (re-asks included); may raise to stop the run (budgets)
        self.before_send: BeforeSend | None = None
        self._batch_api: Any = None

    def batch_api(self) -> Any:
        """The provider batch API for a `batch: true` model (judge.providers.batch), else None."""
        if self.spec.batch and self._batch_api is None:
            from judge.providers.batch import make_api

            self._batch_api = make_api(self.spec)
        return self._batch_api

    async def _acompletion(self, **kwargs: Any) -> Any:
        """Every litellm request goes out here: the run's CallGate (its budget) reserves it first."""
        if self.before_send is not None:
            await self.before_send()
        gate = CALL_GATE.get()
        ticket = await gate.reserve(self.spec.model) if gate is not None else None
        cost, answered = None, False
        try:
            resp = await litellm_module().acompletion(**kwargs)
            answered = True
            cost = token_cost(self.spec.model, *_usage(resp))
            return resp
        finally:
            if ticket is not None:
                ticket.settle(cost, answered=answered)

    def _call_kwargs(self, api_base: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.spec.model,
            "timeout": self.spec.timeout_s,
            "num_retries": 0,  # judge's retry policy owns retries (each HTTP call is recorded)
        }
        if api_base:
            kwargs["api_base"] = api_base
        key = api_key_from_env(self.spec.api_key_env)
        if key:
            kwargs["api_key"] = key
        return kwargs

    def _fatal(self, info: ErrorInfo, calls: list[CallRecord]) -> FatalProviderError:
        """The run-stopping error (carrying the item's calls); no further request is sent to this model."""
        exc = FatalProviderError(self.spec.name, self.spec.api_key_env, info)
        exc.calls = list(calls)
        self.replicas.halt(exc)
        return exc


class LitellmTarget(_Remote):
    """A target model answering prompts through litellm.acompletion."""

    async def generate(self, prompt: PromptRow, messages: list[dict[str, str]]) -> Generation:
        calls: list[CallRecord] = []
        if self.spec.system_prompt:
            messages = [{"role": "system", "content": self.spec.system_prompt}, *messages]

        async def attempt(n: int, api_base: str | None) -> tuple[Generation, ErrorInfo | None]:
            kwargs = {**self.spec.params, **self._call_kwargs(api_base), "messages": messages}
            started, t0 = utcnow(), time.perf_counter()
            try:
                resp = await self._acompletion(**kwargs)
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
                    raise self._fatal(info, calls) from None
                if blocked:
                    return Generation("blocked", finish_reason="content_filter", calls=calls), None
                return Generation("error", error_kind=info.kind, error_message=info.message, calls=calls), info
            latency = (time.perf_counter() - t0) * 1000
            return self._parse(resp, n, started, latency, calls)

        result, _ = await run_with_retries(attempt, self.policy, self.replicas)
        return result

    def _parse(
        self, resp: Any, n: int, started: Any, latency: float, calls: list[CallRecord]
    ) -> tuple[Generation, ErrorInfo | None]:
        choice = resp.choices[0]
        finish = getattr(choice, "finish_reason", None)
        text = getattr(choice.message, "content", None)
        pt, ct = _usage(resp)
        blocked = finish in BLOCKED_FINISH_REASONS
        empty = None if blocked else empty_answer(text, getattr(choice.message, "tool_calls", None), finish)
        status: Literal["ok", "blocked", "error"] = "blocked" if blocked else "error" if empty else "ok"
        cost = token_cost(self.spec.model, pt, ct)
        kind, message = (empty.kind, empty.message) if empty else (None, None)
        calls.append(CallRecord(n, status, latency, started, 200, kind, message, pt, ct, cost))
        if blocked:
            return Generation("blocked", text=text or None, finish_reason=finish, calls=calls), None
        if empty is not None:
            return Generation("error", error_kind=empty.kind, error_message=empty.message, calls=calls), empty
        return Generation("ok", text=text or "", finish_reason=finish, calls=calls), None


class LitellmJudge(_Remote):
    """An LLM judge: instructor over litellm, with a closed verdict schema and bounded re-asks."""

    @cached_property
    def _instructor(self) -> Any:
        return instructor_client(self.spec.judge_mode, self._acompletion)

    async def grade(self, request: JudgeRequest) -> JudgeResult:
        calls: list[CallRecord] = []

        async def attempt(n: int, api_base: str | None) -> tuple[JudgeResult, ErrorInfo | None]:
            kwargs = {**self.spec.params, **self._call_kwargs(api_base)}
            result, info = await self._one_structured_call(request, kwargs, calls)
            if info is not None and info.fatal:
                raise self._fatal(info, calls)
            return result, info

        result, _ = await run_with_retries(attempt, self.policy, self.replicas)
        result.calls = calls
        return result

    async def _one_structured_call(
        self, request: JudgeRequest, kwargs: dict[str, Any], calls: list[CallRecord]
    ) -> tuple[JudgeResult, ErrorInfo | None]:
        """One instructor call (1 + up to JUDGE_PARSE_RETRIES HTTP requests), each request recorded."""
        from instructor.core import InstructorRetryException

        clock = _CallClock(self.spec.model, calls)
        try:
            verdict, completion = await self._instructor.create_with_completion(
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
        problem = verdict_call_problem(completion, verdict_request(self.spec.judge_mode).tool_name)
        if problem is not None:  # instructor's parser took a call it should not have: no verdict
            message = redact(f"no valid verdict: {problem}")
            return JudgeResult(
                "error", raw_output=raw_output(completion), error_kind="judge_unparseable", error_message=message
            ), None
        result = JudgeResult(
            "ok", tier=verdict.tier.value, rationale=verdict.rationale, raw_output=raw_output(completion)
        )
        return result, None

    def _failure(self, exc: Exception) -> tuple[JudgeResult, ErrorInfo | None]:
        cause = exc.__cause__
        failed = getattr(exc, "failed_attempts", None) or []
        raw = raw_output(getattr(exc, "last_completion", None))
        if cause is not None and not failed:
            info = classify_exception(cause)  # a provider error, not a parse failure
            return JudgeResult("error", raw_output=raw, error_kind=info.kind, error_message=info.message), info
        finish = finish_reason(getattr(exc, "last_completion", None))
        kind = "judge_refused" if finish in BLOCKED_FINISH_REASONS else "judge_unparseable"
        last = getattr(exc, "last_completion", None)
        message = redact(no_verdict_message(len(failed) or 1, cause or exc, self.spec.judge_mode, last))
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
