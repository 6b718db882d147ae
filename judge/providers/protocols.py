"""Request bodies, URLs and headers for the OpenAI chat-completions and Anthropic Messages protocols.

Each body is what litellm sends for the same call (checked by tests against the litellm path), built
from a per-model template: the parts that never change are computed once. A call the lean path does
not reproduce exactly (unusual params or message shapes) is reported by `covers()` and goes through
litellm instead.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, ClassVar

from judge.config import ModelSpec
from judge.providers.prices import max_output_tokens
from judge.providers.wire import AnthropicMessage, Completion

# params passed through unchanged by litellm for ordinary chat models
OPENAI_PARAMS = frozenset(
    {"temperature", "top_p", "max_tokens", "seed", "stop", "presence_penalty", "frequency_penalty", "user"}
)
ANTHROPIC_PARAMS = frozenset({"temperature", "top_p", "max_tokens", "stop"})
# OpenAI reasoning models: litellm renames and drops params for them
_OPENAI_REASONING = re.compile(r"^(o\d|gpt-5|codex)", re.IGNORECASE)
DEFAULT_ANTHROPIC_MAX_TOKENS = 128000  # litellm's default for models it has no limit for


class Wire:
    """A protocol: where to POST, with which headers, what body, and how to read the answer."""

    provider: ClassVar[str]

    def __init__(self, spec: ModelSpec, api_key: str | None) -> None:
        self.spec = spec
        self.name = spec.model.split("/", 1)[1]
        self.api_key = api_key
        self._constant: dict[int, str] = {}
        self._extras: dict[int, Any] = {}

    @classmethod
    def supports(cls, spec: ModelSpec) -> bool:
        raise NotImplementedError

    def url(self, base: str | None) -> str:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def body(self, messages: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def covers(self, messages: list[dict[str, Any]]) -> bool:
        """Whether the lean path reproduces litellm's request for these messages."""
        return all(
            isinstance(m, dict)
            and set(m) <= {"role", "content"}
            and m.get("role") in ("system", "user", "assistant")
            and isinstance(m.get("content"), str)
            and m["content"] != ""
            for m in messages
        )

    def completion(self, data: Any) -> Completion:
        raise NotImplementedError

    def encode(self, body: dict[str, Any]) -> bytes:
        return json.dumps(body).encode("utf-8")

    def request_bytes(self, messages: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> bytes:
        """The encoded body of `body(messages, extra)`: the parts that never change (the model,
        instructor's tool/schema, params) are encoded once per `extra` and spliced in."""
        variable = self.variable_part(messages)
        key = id(extra)
        constant = self._constant.get(key)
        if constant is None:
            fixed = {k: v for k, v in self.body(messages, extra).items() if k not in variable}
            constant = self._constant[key] = "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in fixed.items())
            self._extras[key] = extra  # keeps id(extra) from being reused by another object
        head = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in variable.items())
        return ("{" + head + constant + "}").encode("utf-8")

    def variable_part(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The body keys that depend on the conversation."""
        return {"messages": messages}


class OpenAIWire(Wire):
    provider = "openai"

    @classmethod
    def supports(cls, spec: ModelSpec) -> bool:
        name = spec.model.split("/", 1)[1]
        if not set(spec.params) <= OPENAI_PARAMS:
            return False
        return not (spec.params and _OPENAI_REASONING.match(name))

    def url(self, base: str | None) -> str:
        base = base or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
        return (base or "https://api.openai.com/v1").rstrip("/") + "/chat/completions"

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        return headers

    def body(self, messages: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"model": self.name, "messages": messages, **(extra or {}), **self.spec.params}

    def completion(self, data: Any) -> Completion:
        return Completion.model_validate(data)


class AnthropicWire(Wire):
    provider = "anthropic"
    VERSION = "2023-06-01"

    def __init__(self, spec: ModelSpec, api_key: str | None) -> None:
        super().__init__(spec, api_key)
        params = dict(spec.params)
        if "stop" in params:
            stop = params.pop("stop")
            params["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if "max_tokens" not in params:
            default = int(os.environ.get("DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS", DEFAULT_ANTHROPIC_MAX_TOKENS))
            params["max_tokens"] = max_output_tokens(spec.model) or default
        self.params = params

    @classmethod
    def supports(cls, spec: ModelSpec) -> bool:
        return set(spec.params) <= ANTHROPIC_PARAMS

    def url(self, base: str | None) -> str:
        base = base or os.environ.get("ANTHROPIC_BASE_URL") or os.environ.get("ANTHROPIC_API_BASE")
        base = (base or "https://api.anthropic.com").rstrip("/")
        return base if base.endswith("/v1/messages") else base + "/v1/messages"

    def headers(self) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "anthropic-version": self.VERSION,
        }
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    def body(self, messages: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        system = [{"type": "text", "text": m["content"]} for m in messages if m["role"] == "system" and m["content"]]
        body: dict[str, Any] = {"model": self.name, "messages": anthropic_messages(messages)}
        if extra:
            body.update(anthropic_tools(extra))
        if system:
            body["system"] = system
        body.update(self.params)
        return body

    def completion(self, data: Any) -> Completion:
        return AnthropicMessage.model_validate(data).to_completion()

    def variable_part(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        part: dict[str, Any] = {"messages": anthropic_messages(messages)}
        system = [{"type": "text", "text": m["content"]} for m in messages if m["role"] == "system" and m["content"]]
        if system:
            part["system"] = system
        return part


def anthropic_tools(extra: dict[str, Any]) -> dict[str, Any]:
    """instructor's OpenAI tool definition and tool_choice as litellm translates them (JSON modes add none)."""
    out: dict[str, Any] = {}
    tools = extra.get("tools")
    if tools:
        out["tools"] = [
            {
                "type": "custom",
                "name": t["function"]["name"],
                "input_schema": t["function"].get("parameters", {}),
                **({"description": t["function"]["description"]} if t["function"].get("description") else {}),
            }
            for t in tools
        ]
    choice = extra.get("tool_choice")
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        out["tool_choice"] = {"type": "tool", "name": choice["function"]["name"]}
    return out


def anthropic_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-shaped turns (incl. instructor's re-ask turns) as Anthropic content blocks; same roles merged."""
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role == "system":
            continue
        blocks: list[dict[str, Any]] = []
        if role == "tool":
            role = "user"
            blocks.append({"type": "tool_result", "tool_use_id": m.get("tool_call_id"), "content": m.get("content")})
        else:
            if m.get("content"):
                blocks.append({"type": "text", "text": m["content"]})
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                try:
                    arguments = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    arguments = {}
                blocks.append({"type": "tool_use", "id": call.get("id"), "name": fn.get("name"), "input": arguments})
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


WIRES: dict[str, type[Wire]] = {"openai": OpenAIWire, "anthropic": AnthropicWire}
