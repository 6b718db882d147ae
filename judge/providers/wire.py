"""What OpenAI-compatible and Anthropic servers answer, parsed straight into pydantic models.

Both protocols end in `Completion`, the OpenAI chat-completion shape that instructor's parsers and
re-ask handlers read (Anthropic answers are converted the way litellm converts them). Provider
answers are the one boundary where unknown fields are ignored rather than refused: servers add
fields all the time, and an extra field is not a broken answer.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Anthropic stop reasons as litellm maps them to OpenAI finish reasons
ANTHROPIC_FINISH = {
    "stop_sequence": "stop",
    "end_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "compaction": "length",
    "pause_turn": "length",
    "model_context_window_exceeded": "length",
}


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FunctionCall(_Answer):
    name: str = ""
    arguments: str | None = None

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_json_text(cls, value: Any) -> Any:
        """Some OpenAI-compatible servers send the arguments as a JSON object instead of its text."""
        return json.dumps(value) if isinstance(value, dict | list) else value


class ToolCall(_Answer):
    id: str = ""
    type: str = "function"
    function: FunctionCall


class Message(_Answer):
    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _content_parts_as_text(cls, value: Any) -> Any:
        """Content sent as a list of parts (`[{"type": "text", "text": ...}]`): their text, joined."""
        if isinstance(value, list) and all(isinstance(p, dict) for p in value):
            if any(p.get("type") not in ("text", "output_text") or not isinstance(p.get("text"), str) for p in value):
                return value  # not only text: refused by validation (a malformed answer)
            return "".join(p["text"] for p in value)
        return value


class Choice(_Answer):
    index: int = 0
    message: Message
    finish_reason: str | None = None


class Usage(_Answer):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Completion(_Answer):
    """An OpenAI chat completion (the shape both protocols are read into)."""

    id: str = ""
    choices: list[Choice] = Field(min_length=1)
    usage: Usage | None = None


class AnthropicBlock(_Answer):
    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class AnthropicUsage(_Answer):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class AnthropicMessage(_Answer):
    """An Anthropic Messages API answer."""

    id: str = ""
    content: list[AnthropicBlock]
    stop_reason: str | None = None
    usage: AnthropicUsage | None = None

    def to_completion(self) -> Completion:
        """The OpenAI shape, as litellm builds it: text blocks joined, tool_use blocks as tool calls."""
        text = "".join(b.text or "" for b in self.content if b.type == "text")
        calls = [
            ToolCall(id=b.id or "", function=FunctionCall(name=b.name or "", arguments=json.dumps(b.input)))
            for b in self.content
            if b.type == "tool_use"
        ]
        finish = ANTHROPIC_FINISH.get(self.stop_reason or "", "stop")
        message = Message(content=text or None, tool_calls=calls or None)
        usage = None
        if self.usage is not None:
            u = self.usage
            prompt = None
            if u.input_tokens is not None:
                prompt = u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
            usage = Usage(prompt_tokens=prompt, completion_tokens=u.output_tokens)
        return Completion(id=self.id, choices=[Choice(message=message, finish_reason=finish)], usage=usage)
