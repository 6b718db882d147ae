"""Anthropic Message Batches through the `anthropic` SDK: create, retrieve until ended, stream results."""

from __future__ import annotations

from typing import Any

from judge.config import ModelSpec
from judge.judging.verdict import JudgeVerdict
from judge.providers.batch.base import JUDGE_TOOL, Answer, PollState, Submitted, kind_for_status, model_name
from judge.providers.errors import ErrorInfo, FatalProviderError
from judge.secrets import api_key_from_env, redact

DEFAULT_MAX_TOKENS = 4096  # the Messages API requires max_tokens; params.max_tokens overrides


class AnthropicBatchAPI:
    provider = "anthropic"

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._client: Any = None

    # ---- requests ----------------------------------------------------------------------------------
    def _params(self, messages: list[dict[str, str]], system: str | None) -> dict[str, Any]:
        systems = [system] if system else []
        systems += [m["content"] for m in messages if m["role"] == "system"]
        params: dict[str, Any] = {
            "max_tokens": DEFAULT_MAX_TOKENS,
            **self.spec.params,
            "model": model_name(self.spec),
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"],
        }
        if systems:
            params["system"] = "\n\n".join(systems)
        return params

    def target_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return self._params(messages, self.spec.system_prompt)

    def judge_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """Structured output as instructor's TOOLS mode asks for it: one forced tool call."""
        params = self._params(messages, None)
        params["tools"] = [
            {
                "name": JUDGE_TOOL,
                "description": (JudgeVerdict.__doc__ or "").strip(),
                "input_schema": JudgeVerdict.model_json_schema(),
            }
        ]
        params["tool_choice"] = {"type": "tool", "name": JUDGE_TOOL}
        return params

    # ---- the API -------------------------------------------------------------------------------------
    def client(self) -> Any:
        if self._client is None:
            import anthropic

            key = api_key_from_env(self.spec.api_key_env)
            kwargs: dict[str, Any] = {"timeout": self.spec.timeout_s, "max_retries": min(self.spec.max_attempts - 1, 5)}
            if self.spec.api_base:
                kwargs["base_url"] = self.spec.api_base
            if key:
                kwargs["api_key"] = key
            self._client = anthropic.AsyncAnthropic(**kwargs)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def _call(self, coro: Any) -> Any:
        import anthropic

        try:
            return await coro
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
            info = ErrorInfo("auth", redact(f"{type(exc).__name__}: {exc}") or "", exc.status_code)
            raise FatalProviderError(self.spec.name, self.spec.api_key_env, info) from None

    async def submit(self, requests: list[tuple[str, dict[str, Any]]]) -> Submitted:
        batch = await self._call(
            self.client().messages.batches.create(
                requests=[{"custom_id": cid, "params": params} for cid, params in requests]
            )
        )
        return Submitted(batch.id, str(batch.processing_status))

    async def poll(self, batch_id: str) -> PollState:
        batch = await self._call(self.client().messages.batches.retrieve(batch_id))
        status = str(batch.processing_status)
        return PollState(status, status == "ended")

    async def collect(self, batch_id: str, state: PollState) -> dict[str, Answer]:
        answers: dict[str, Answer] = {}
        results = await self._call(self.client().messages.batches.results(batch_id))
        async for entry in results:
            answer = parse_result(entry.model_dump(mode="json"))
            answers[answer.custom_id] = answer
        return answers


def parse_result(entry: dict[str, Any]) -> Answer:
    """One line of a batch's results: succeeded (a Message), errored, canceled or expired."""
    cid = str(entry.get("custom_id"))
    result = entry.get("result") or {}
    rtype = result.get("type")
    if rtype == "succeeded":
        message = result.get("message") or {}
        blocks = message.get("content") or []
        text = "".join(b.get("text") or "" for b in blocks if b.get("type") == "text")
        tool = next((b.get("input") for b in blocks if b.get("type") == "tool_use"), None)
        usage = message.get("usage") or {}
        stop = message.get("stop_reason")
        return Answer(
            cid,
            True,
            200,
            text=text,
            tool_input=tool,
            stop=stop,
            blocked=stop == "refusal",
            prompt_tokens=usage.get("input_tokens"),
            completion_tokens=usage.get("output_tokens"),
        )
    if rtype == "errored":
        err = ((result.get("error") or {}).get("error")) or {}
        etype = err.get("type")
        message = redact(str(err.get("message") or etype)) or ""
        return Answer.failed(cid, kind_for_status(None, None, etype), message[:2000])
    kind = {"canceled": "batch_cancelled", "expired": "batch_expired"}.get(str(rtype), "batch_missing")
    return Answer.failed(cid, kind, f"the batch ended without answering this request ({rtype})")
