"""Requests, replies and the protocol adapters: everything OpenAI- or Anthropic-specific of the fake server."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fake_server.texts import REFUSAL_TEXT, count_tokens, text_of


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str]  # named groups of the route pattern
    client_gone: Callable[[float], bool]  # wait up to N seconds; True if the client disconnected

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else {}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without sending anything
    # Accounting for a successful answer: called with +1 just before the reply is written (so a client
    # that got the answer always sees it counted) and with -1 if writing it failed.
    count: Callable[[int], None] | None = None

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body).encode("utf-8")


class BadRequest(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# Protocol adapters: everything provider-specific lives here
# --------------------------------------------------------------------------------------------------


@dataclass
class Call:
    """A chat request in provider-neutral form."""

    model: str
    messages: list[tuple[str, str]]  # (role, text), system first
    tool_name: str | None  # the tool the answer must call, or None to answer with content
    json_format: bool  # response_format json_object/json_schema (OpenAI) or output_format (Anthropic)
    raw: dict[str, Any]

    @property
    def shape(self) -> str:
        return "tool_call" if self.tool_name else "json_format" if self.json_format else "plain"


class Protocol:
    name: ClassVar[str]

    def parse(self, body: dict[str, Any]) -> Call:
        raise NotImplementedError

    def key_ok(self, headers: Mapping[str, str], expected: str) -> bool:
        raise NotImplementedError

    def error(self, status: int, kind: str, message: str, **extra: Any) -> Reply:
        raise NotImplementedError

    def answer(self, call: Call, ident: str, content: str | None, tool_args: dict[str, Any] | None) -> Reply:
        raise NotImplementedError

    def refusal(self, call: Call, ident: str, *, content_filter: bool) -> Reply:
        raise NotImplementedError


class OpenAIProtocol(Protocol):
    name = "openai"

    def parse(self, body: dict[str, Any]) -> Call:
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise BadRequest("'messages' must be a non-empty array")
        system: list[str] = []
        rest: list[tuple[str, str]] = []
        for m in msgs:
            role = str(m.get("role", "user"))
            if role in ("system", "developer"):
                system.append(text_of(m.get("content")))
            else:
                rest.append((role, text_of(m.get("content"))))
        messages = ([("system", "\n".join(system))] if system else []) + rest
        tool_name = None
        tools = body.get("tools") or []
        choice = body.get("tool_choice")
        if tools and choice != "none":
            if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
                tool_name = str(choice["function"].get("name"))
            else:
                tool_name = str((tools[0].get("function") or {}).get("name", "tool"))
        rf = body.get("response_format")
        json_format = isinstance(rf, dict) and rf.get("type") in ("json_object", "json_schema")
        return Call(str(body.get("model", "")), messages, tool_name, json_format, body)

    def key_ok(self, headers: Mapping[str, str], expected: str) -> bool:
        return headers.get("authorization", "") == f"Bearer {expected}"

    def error(self, status: int, kind: str, message: str, **extra: Any) -> Reply:
        types = {
            401: ("invalid_request_error", "invalid_api_key"),
            429: ("requests", "rate_limit_exceeded"),
            500: ("server_error", None),
            503: ("server_error", None),
            400: ("invalid_request_error", None),
        }
        etype, code = types.get(status, ("server_error", None))
        body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
        body["error"].update(extra)
        return Reply(status, body)

    def _envelope(self, call: Call, ident: str, message: dict[str, Any], finish: str, out_text: str) -> Reply:
        prompt_tokens = count_tokens("\n".join(t for _, t in call.messages))
        completion_tokens = count_tokens(out_text)
        return Reply(
            200,
            {
                "id": f"chatcmpl-{ident}",
                "object": "chat.completion",
                "created": 1700000000,
                "model": call.model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )

    def answer(self, call: Call, ident: str, content: str | None, tool_args: dict[str, Any] | None) -> Reply:
        if tool_args is not None and call.tool_name:
            args = json.dumps(tool_args)
            tool_call = {
                "id": f"call_{ident}",
                "type": "function",
                "function": {"name": call.tool_name, "arguments": args},
            }
            message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [tool_call]}
            return self._envelope(call, ident, message, "tool_calls", args)
        text = content or ""
        message = {"role": "assistant", "content": text, "refusal": None}
        return self._envelope(call, ident, message, "stop", text)

    def refusal(self, call: Call, ident: str, *, content_filter: bool) -> Reply:
        if content_filter:
            return self.error(
                400,
                "content_filter",
                "Your request was rejected as a result of our safety system. Your prompt may contain text "
                "that is not allowed by our safety system.",
                param="prompt",
                code="content_policy_violation",
            )
        message = {"role": "assistant", "content": None, "refusal": REFUSAL_TEXT}
        return self._envelope(call, ident, message, "content_filter", REFUSAL_TEXT)


class AnthropicProtocol(Protocol):
    name = "anthropic"

    def parse(self, body: dict[str, Any]) -> Call:
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise BadRequest("messages: field required")
        if "max_tokens" not in body:
            raise BadRequest("max_tokens: Field required")
        system = text_of(body.get("system"))
        messages = ([("system", system)] if system else []) + [
            (str(m.get("role", "user")), text_of(m.get("content"))) for m in msgs
        ]
        tool_name = None
        tools = body.get("tools") or []
        choice = body.get("tool_choice") or {}
        if tools and choice.get("type") != "none":
            tool_name = str(choice["name"]) if choice.get("type") == "tool" else str(tools[0].get("name", "tool"))
        json_format = isinstance(body.get("output_format"), dict) or isinstance(
            (body.get("output_config") or {}).get("format"), dict
        )
        return Call(str(body.get("model", "")), messages, tool_name, json_format, body)

    def key_ok(self, headers: Mapping[str, str], expected: str) -> bool:
        return headers.get("x-api-key", "") == expected

    def error(self, status: int, kind: str, message: str, **extra: Any) -> Reply:
        types = {
            400: "invalid_request_error",
            401: "authentication_error",
            429: "rate_limit_error",
            500: "api_error",
            503: "api_error",
            529: "overloaded_error",
        }
        body = {"type": "error", "error": {"type": types.get(status, "api_error"), "message": message}}
        return Reply(status, body, {"request-id": "req_fake"})

    def _envelope(self, call: Call, ident: str, content: list[dict[str, Any]], stop: str, out_text: str) -> Reply:
        return Reply(
            200,
            {
                "id": f"msg_{ident}",
                "type": "message",
                "role": "assistant",
                "model": call.model,
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": count_tokens("\n".join(t for _, t in call.messages)),
                    "output_tokens": count_tokens(out_text) if out_text else 0,
                },
            },
            {"request-id": f"req_{ident}"},
        )

    def answer(self, call: Call, ident: str, content: str | None, tool_args: dict[str, Any] | None) -> Reply:
        if tool_args is not None and call.tool_name:
            block = {"type": "tool_use", "id": f"toolu_{ident}", "name": call.tool_name, "input": tool_args}
            return self._envelope(call, ident, [block], "tool_use", json.dumps(tool_args))
        text = content or ""
        return self._envelope(call, ident, [{"type": "text", "text": text}], "end_turn", text)

    def refusal(self, call: Call, ident: str, *, content_filter: bool) -> Reply:
        if content_filter:
            return self._envelope(call, ident, [], "refusal", "")
        return self._envelope(call, ident, [{"type": "text", "text": REFUSAL_TEXT}], "refusal", REFUSAL_TEXT)
