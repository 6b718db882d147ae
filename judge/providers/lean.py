"""The lean transport: OpenAI-compatible and Anthropic models over judge's own pooled HTTP client.

Same contract as the litellm path (judge.providers.litellm_backend): the same request bodies, one
CallRecord per HTTP request with tokens, cost and latency, the same error kinds, retries, blocked
outcomes and fatal credentials, and for judges instructor's structured output (schema, parsing,
re-asks) replayed from `judge.providers.structured`. Without litellm's per-call machinery a call
costs well under a millisecond of client CPU, and litellm is never imported unless a request needs it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from judge.config import ModelSpec
from judge.prompts.model import PromptRow
from judge.providers.base import CALL_GATE, CallRecord, Generation, JudgeRequest, JudgeResult, utcnow
from judge.providers.errors import ErrorInfo, FatalProviderError, classify_error_object, classify_http
from judge.providers.flow import ReplicaSet
from judge.providers.http import TransportError, post_json
from judge.providers.outcomes import (
    BLOCKED_FINISH_REASONS,
    JUDGE_PARSE_RETRIES,
    empty_answer,
    no_verdict_message,
    raw_output,
)
from judge.providers.prices import token_cost
from judge.providers.protocols import WIRES, Wire
from judge.providers.retrying import RetryPolicy, run_with_retries
from judge.providers.structured import retryable_parse_errors, verdict_request
from judge.providers.wire import Completion
from judge.secrets import api_key_from_env, redact

DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
BeforeSend = Callable[[], Awaitable[None]]


def lean_supported(spec: ModelSpec) -> bool:
    """Whether the lean transport reproduces litellm's requests for this model (batch models keep the
    litellm path, whose models carry the provider batch API)."""
    wire = WIRES.get(spec.provider)
    return spec.transport == "auto" and not spec.batch and wire is not None and wire.supports(spec)


class _LeanRemote:
    offline = False
    transport = "lean"

    def __init__(self, spec: ModelSpec, policy: RetryPolicy | None = None) -> None:
        self.spec = spec
        self.policy = policy or RetryPolicy(max_attempts=spec.max_attempts)
        self.replicas = ReplicaSet([b or "" for b in spec.api_bases], spec.concurrency)
        key = api_key_from_env(spec.api_key_env) or api_key_from_env(DEFAULT_KEY_ENV[spec.provider])
        self.wire: Wire = WIRES[spec.provider](spec, key)
        self.headers = self.wire.headers()
        # awaited before every HTTP request (re-asks included); may raise to stop the run (budgets)
        self.before_send: BeforeSend | None = None

    def _fatal(self, info: ErrorInfo, calls: list[CallRecord]) -> FatalProviderError:
        """The run-stopping error (carrying the item's calls); no further request is sent to this model."""
        exc = FatalProviderError(self.spec.name, self.spec.api_key_env, info)
        exc.calls = list(calls)
        self.replicas.halt(exc)
        return exc

    async def _post(
        self,
        n: int,
        base: str | None,
        messages: list[dict[str, Any]],
        extra: dict[str, Any] | None,
        calls: list[CallRecord],
    ) -> tuple[Completion | None, ErrorInfo | None]:
        """One attempt, its CallRecords appended to `calls`. A request the server dropped before answering
        (typically on a kept-alive connection it had just closed) is sent once more at once, on a new
        connection: a healthy server that closes idle connections must not cost items an attempt each."""
        completion, info, record, stale = await self._reserved_post(n, base, messages, extra, fresh=False)
        calls.append(record)
        if stale:
            completion, info, record, _ = await self._reserved_post(n, base, messages, extra, fresh=True)
            calls.append(record)
        return completion, info

    async def _reserved_post(
        self, n: int, base: str | None, messages: list[dict[str, Any]], extra: dict[str, Any] | None, *, fresh: bool
    ) -> tuple[Completion | None, ErrorInfo | None, CallRecord, bool]:
        """One HTTP request, reserved with the run's CallGate (its budget) first and settled after."""
        if self.before_send is not None:
            await self.before_send()
        gate = CALL_GATE.get()
        ticket = await gate.reserve(self.spec.model) if gate is not None else None
        record: CallRecord | None = None
        try:
            result = await self._post_once(n, base, messages, extra, fresh)
            record = result[2]
            return result
        finally:
            if ticket is not None:
                answered = record is not None and record.http_status is not None
                ticket.settle(record.cost_usd if record else None, answered=answered)

    async def _post_once(
        self, n: int, base: str | None, messages: list[dict[str, Any]], extra: dict[str, Any] | None, fresh: bool
    ) -> tuple[Completion | None, ErrorInfo | None, CallRecord, bool]:
        """One HTTP request: the parsed answer, or the classified error; always its CallRecord; and whether
        the server dropped the request before answering (worth one resend on a new connection)."""
        data = self.wire.request_bytes(messages, extra)
        started, t0 = utcnow(), time.perf_counter()
        try:
            answer = await post_json(self.wire.url(base), data, self.headers, self.spec.timeout_s, fresh=fresh)
        except TransportError as exc:
            info = exc.info
            return None, info, CallRecord(n, "error", _ms(t0), started, None, info.kind, info.message), exc.stale
        latency = _ms(t0)
        if answer.status >= 300:
            info = classify_http(answer.status, answer.headers, answer.body, self.wire.provider)
            status: Literal["blocked", "error"] = "blocked" if info.kind == "content_filter" else "error"
            return None, info, CallRecord(n, status, latency, started, answer.status, info.kind, info.message), False
        try:
            parsed = _load_json(answer.body)
            embedded = classify_error_object(parsed, answer.headers, answer.body, self.wire.provider)
            if embedded is not None:  # an error object sent with a 200: retried (or not) as its type says
                record = CallRecord(n, "error", latency, started, answer.status, embedded.kind, embedded.message)
                return None, embedded, record, False
            completion = self.wire.completion(parsed)
        except ValueError as exc:  # not JSON, or not a completion (pydantic's ValidationError is a ValueError)
            message = redact(f"malformed answer from {self.wire.provider}: {str(exc)[:500]}") or ""
            info = ErrorInfo("malformed_response", message, None)
            return None, info, CallRecord(n, "error", latency, started, None, info.kind, info.message), False
        usage = completion.usage
        pt = usage.prompt_tokens if usage else None
        ct = usage.completion_tokens if usage else None
        cost = token_cost(self.spec.model, pt, ct)
        return completion, None, CallRecord(n, "ok", latency, started, answer.status, None, None, pt, ct, cost), False


def _load_json(body: bytes) -> Any:
    """The parsed answer; a stray byte that is not UTF-8 becomes U+FFFD instead of losing the whole answer."""
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        return json.loads(body.decode("utf-8", "replace"))


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


class LeanTarget(_LeanRemote):
    """A target model answering prompts over the lean transport."""

    def __init__(self, spec: ModelSpec, policy: RetryPolicy | None = None) -> None:
        super().__init__(spec, policy)
        self._fallback: Any = None

    def _litellm(self) -> Any:
        """litellm for a conversation the lean path does not reproduce (same replicas and hook)."""
        if self._fallback is None:
            from judge.providers.litellm_backend import LitellmTarget

            self._fallback = LitellmTarget(self.spec, self.policy, self.replicas)
        self._fallback.before_send = self.before_send
        return self._fallback

    async def generate(self, prompt: PromptRow, messages: list[dict[str, str]]) -> Generation:
        full: list[dict[str, Any]] = list(messages)
        if self.spec.system_prompt:
            full = [{"role": "system", "content": self.spec.system_prompt}, *full]
        if not self.wire.covers(full):
            result: Generation = await self._litellm().generate(prompt, messages)
            return result
        calls: list[CallRecord] = []

        async def attempt(n: int, base: str | None) -> tuple[Generation, ErrorInfo | None]:
            completion, info = await self._post(n, base, full, None, calls)
            record = calls[-1]
            if info is not None:
                if info.fatal:
                    raise self._fatal(info, calls)
                if info.kind == "content_filter":
                    return Generation("blocked", finish_reason="content_filter", calls=calls), None
                return Generation("error", error_kind=info.kind, error_message=info.message, calls=calls), info
            assert completion is not None
            choice = completion.choices[0]
            text, finish = choice.message.content, choice.finish_reason
            if finish in BLOCKED_FINISH_REASONS:
                record.status = "blocked"
                return Generation("blocked", text=text or None, finish_reason=finish, calls=calls), None
            empty = empty_answer(text, choice.message.tool_calls, finish)
            if empty is not None:
                record.status, record.error_kind, record.error_message = "error", empty.kind, empty.message
                return Generation("error", error_kind=empty.kind, error_message=empty.message, calls=calls), empty
            return Generation("ok", text=text or "", finish_reason=finish, calls=calls), None

        result, _ = await run_with_retries(attempt, self.policy, self.replicas)
        return result


class LeanJudge(_LeanRemote):
    """An LLM judge over the lean transport: instructor's schema, parsing and re-asks, judge's HTTP."""

    async def grade(self, request: JudgeRequest) -> JudgeResult:
        calls: list[CallRecord] = []

        async def attempt(n: int, base: str | None) -> tuple[JudgeResult, ErrorInfo | None]:
            result, info = await self._one_structured_call(request, base, calls)
            if info is not None and info.fatal:
                raise self._fatal(info, calls)
            return result, info

        result, _ = await run_with_retries(attempt, self.policy, self.replicas)
        result.calls = calls
        return result

    async def _one_structured_call(
        self, request: JudgeRequest, base: str | None, calls: list[CallRecord]
    ) -> tuple[JudgeResult, ErrorInfo | None]:
        """What one instructor call does: 1 + up to JUDGE_PARSE_RETRIES requests, re-asking on invalid answers."""
        vr = verdict_request(self.spec.judge_mode)  # computed on the judge stage's first call, then cached
        kwargs: dict[str, Any] = {"messages": vr.messages(request.messages)}
        completion: Completion | None = None
        error: BaseException | None = None
        answers = 0
        t0 = time.monotonic()
        for _ in range(1 + JUDGE_PARSE_RETRIES):
            if answers and time.monotonic() - t0 >= self.spec.timeout_s:
                break  # instructor also stops re-asking once the call's timeout has passed
            completion, info = await self._post(len(calls) + 1, base, kwargs["messages"], vr.extra, calls)
            if info is not None:  # a provider error: retried (or not) like any other call
                return JudgeResult("error", error_kind=info.kind, error_message=info.message), info
            assert completion is not None
            answers += 1
            choice = completion.choices[0]
            if choice.finish_reason == "length":
                return self._unusable(completion, "judge_unparseable", "the answer was cut off (finish_reason length)")
            if choice.finish_reason in BLOCKED_FINISH_REASONS:  # a re-ask of the same text is blocked again
                reason = f"the provider blocked the judge's answer (finish_reason {choice.finish_reason})"
                return self._unusable(completion, "judge_refused", reason)
            if choice.message.refusal is not None:
                return self._unusable(completion, "judge_refused", f"the judge refused: {choice.message.refusal}")
            try:
                verdict = vr.parse(completion)
            except retryable_parse_errors() as exc:
                error = exc
                kwargs = vr.reask(kwargs, completion, exc)
                continue
            tier, rationale = verdict.tier.value, verdict.rationale
            return JudgeResult("ok", tier=tier, rationale=rationale, raw_output=raw_output(completion)), None
        finish = completion.choices[0].finish_reason if completion is not None else None
        kind = "judge_refused" if finish in BLOCKED_FINISH_REASONS else "judge_unparseable"
        return self._unusable(completion, kind, no_verdict_message(answers, error, self.spec.judge_mode, completion))

    @staticmethod
    def _unusable(completion: Completion | None, kind: str, message: str) -> tuple[JudgeResult, None]:
        """A judge that cannot produce a verdict: recorded with its last answer, not retried again here."""
        result = JudgeResult("error", raw_output=raw_output(completion), error_kind=kind, error_message=redact(message))
        return result, None
