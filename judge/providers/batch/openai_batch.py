"""The OpenAI Batch API through the `openai` SDK: upload a JSONL of chat requests, create, poll, download."""

from __future__ import annotations

import json
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

ENDPOINT = "/v1/chat/completions"
DONE = frozenset({"completed", "failed", "expired", "cancelled"})
BLOCKED_FINISH = frozenset({"content_filter", "refusal"})


class OpenAIBatchAPI(SdkBatchClient):
    provider = "openai"

    # ---- requests ----------------------------------------------------------------------------------
    def _messages(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        if self.spec.system_prompt:
            return [{"role": "system", "content": self.spec.system_prompt}, *messages]
        return list(messages)

    def target_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return {**self.spec.params, "model": model_name(self.spec), "messages": self._messages(messages)}

    def judge_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """Structured output exactly as instructor asks for it online, in the judge's judge_mode."""
        structured = judge_request("openai", self.spec.judge_mode, messages)
        return {**self.spec.params, "model": model_name(self.spec), **structured}

    # ---- the API -------------------------------------------------------------------------------------
    def _build_client(self, **kwargs: Any) -> Any:
        import openai

        try:
            return openai.AsyncOpenAI(**kwargs)
        except openai.OpenAIError as exc:  # e.g. no key at all
            raise self._fatal(exc) from None

    def _auth_errors(self) -> tuple[type[BaseException], ...]:
        import openai

        return (openai.AuthenticationError, openai.PermissionDeniedError)

    async def submit(self, requests: list[tuple[str, dict[str, Any]]]) -> Submitted:
        lines = "".join(
            json.dumps({"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": body}, ensure_ascii=False) + "\n"
            for cid, body in requests
        )
        client = self.client()
        upload = await self._call(
            client.files.create(file=("judge-batch.jsonl", lines.encode("utf-8")), purpose="batch")
        )
        batch = await self._call(
            client.batches.create(input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h")
        )
        return Submitted(batch.id, str(batch.status), upload.id)

    async def poll(self, batch_id: str) -> PollState:
        batch = await self._call(self.client().batches.retrieve(batch_id))
        status = str(batch.status)
        error = None
        errors = getattr(batch, "errors", None)
        data = getattr(errors, "data", None) or []
        if data:
            error = redact("; ".join(f"{getattr(e, 'code', '')}: {getattr(e, 'message', '')}" for e in data[:5]))
        return PollState(status, status in DONE, batch.output_file_id, batch.error_file_id, error)

    async def collect(self, batch_id: str, state: PollState) -> dict[str, Answer]:
        answers: dict[str, Answer] = {}
        for file_id in (state.output_file_id, state.error_file_id):
            if not file_id:
                continue
            content = await self._call(self.client().files.content(file_id))
            for raw in content.text.splitlines():
                if raw.strip():
                    answer = parse_line(json.loads(raw))
                    answers[answer.custom_id] = answer
        return answers


def parse_line(line: dict[str, Any]) -> Answer:
    """One line of a batch output or error file."""
    cid = str(line.get("custom_id"))
    response = line.get("response") or {}
    status = response.get("status_code")
    body = response.get("body") or {}
    if status != 200 or not isinstance(body, dict) or "choices" not in body:
        err = (body.get("error") if isinstance(body, dict) else None) or line.get("error") or {}
        code, etype = err.get("code"), err.get("type")
        batch_code = isinstance(code, str) and code.startswith("batch_")
        kind = str(code) if batch_code else kind_for_status(status, code, etype)
        return Answer.failed(cid, kind, (redact(str(err.get("message") or "request failed")) or "")[:2000], status)
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    finish = choice.get("finish_reason")
    tool_calls = message.get("tool_calls") or []
    usage = body.get("usage") or {}
    return Answer(
        cid,
        True,
        200,
        text=message.get("content"),
        tool_input=((tool_calls[0].get("function") or {}).get("arguments") if tool_calls else None),
        stop=finish,
        blocked=finish in BLOCKED_FINISH or bool(message.get("refusal")),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        body=body,
    )
