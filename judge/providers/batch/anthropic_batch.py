"""Anthropic Message Batches through the `anthropic` SDK: create, retrieve until ended, stream results."""

from __future__ import annotations

from typing import Any

from judge.providers.batch.base import (
    Answer,
    PollState,
    SdkBatchClient,
    Submitted,
    kind_for_status,
    model_name,
)
from judge.providers.batch.structured import judge_request
from judge.secrets import redact

DEFAULT_MAX_TOKENS = 4096  # the Messages API requires max_tokens; params.max_tokens overrides


class AnthropicBatchAPI(SdkBatchClient):
    provider = "anthropic"

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
        """Structured output exactly as instructor asks for it, in the judge's judge_mode."""
        structured = judge_request("anthropic", self.spec.judge_mode, messages)
        return {"max_tokens": DEFAULT_MAX_TOKENS, **self.spec.params, "model": model_name(self.spec), **structured}

    # ---- the API -------------------------------------------------------------------------------------
    def _build_client(self, **kwargs: Any) -> Any:
        import anthropic

        return anthropic.AsyncAnthropic(**kwargs)

    def _auth_errors(self) -> tuple[type[BaseException], ...]:
        import anthropic

        return (anthropic.AuthenticationError, anthropic.PermissionDeniedError)

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
            body=message,
        )
    if rtype == "errored":
        err = ((result.get("error") or {}).get("error")) or {}
        etype = err.get("type")
        message = redact(str(err.get("message") or etype)) or ""
        return Answer.failed(cid, kind_for_status(None, None, etype), message[:2000])
    kind = {"canceled": "batch_cancelled", "expired": "batch_expired"}.get(str(rtype), "batch_missing")
    return Answer.failed(cid, kind, f"the batch ended without answering this request ({rtype})")
