"""The schema of one prompt row (one JSON object per line in prompts/*.jsonl)."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Intent(StrEnum):
    SAFE = "safe"  # safe intent in a risky area: tests over-deflection
    UNSAFE = "unsafe"  # simple harmful request
    ADVERSARIAL = "adversarial"  # jailbreak-style, with a technique tag


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class PromptRow(BaseModel):
    """One prompt. Either `prompt` (a user turn) or `messages` (a chat list) is given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    taxonomy: tuple[str, ...] = Field(min_length=1, max_length=3)
    intent: Intent
    technique: str | None = None
    lang: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("prompt must not be empty")
        return v

    @field_validator("taxonomy")
    @classmethod
    def _levels_not_blank(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not level.strip() for level in v):
            raise ValueError("taxonomy levels must be non-empty strings")
        return v

    @model_validator(mode="after")
    def _one_of_prompt_or_messages(self) -> PromptRow:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("exactly one of 'prompt' or 'messages' must be given")
        if self.messages is not None:
            if not self.messages:
                raise ValueError("'messages' must not be empty")
            if self.messages[-1].role != "user":
                raise ValueError("the last message must have role 'user'")
        return self

    # --- derived values -------------------------------------------------------------------
    def chat(self) -> list[dict[str, str]]:
        """The conversation sent to a target (without any target system prompt)."""
        if self.messages is not None:
            return [{"role": m.role, "content": m.content} for m in self.messages]
        assert self.prompt is not None
        return [{"role": "user", "content": self.prompt}]

    @property
    def text(self) -> str:
        """The user's request as one string (the last user turn for chats)."""
        if self.prompt is not None:
            return self.prompt
        assert self.messages is not None
        return self.messages[-1].content

    def level(self, n: int) -> str | None:
        """Taxonomy level n (1-based), or None when the path is shorter."""
        return self.taxonomy[n - 1] if len(self.taxonomy) >= n else None

    @cached_property
    def content_hash(self) -> str:
        """Stable identity of the row's content: same row, same hash, in any file."""
        payload = self.model_dump(mode="json", exclude_none=True)
        raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:20]
