"""What every importer produces: raw records (prompt, answer, external scores) before mapping and storing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.errors import UserInputError

Tick = Callable[[int], None]  # advances a progress bar by n records


@dataclass(frozen=True)
class ExternalScore:
    """One score another tool gave an answer (an Inspect scorer, a promptfoo assertion, a table column)."""

    judge: str  # e.g. inspect:model_graded_qa, promptfoo:icontains
    value: Any  # the tool's own value: "C", 0.0, True, "refusal", ...
    explanation: str | None = None
    grader_prompt: str | None = None  # what a model grader was asked, for audit


@dataclass
class RawItem:
    """One answer to one prompt as another tool recorded it; `where` names it in error messages."""

    where: str  # e.g. "sample risky-01", "line 12"
    prompt_id: str
    prompt: str | None  # a single user turn, or
    messages: list[dict[str, str]] | None  # a chat (last turn: user)
    metadata: dict[str, Any]
    target: str  # the model that answered (a name)
    target_model: str  # the tool's model string (provider id)
    text: str | None  # the answer; None when the tool recorded an error instead
    error: str | None = None
    blocked: bool = False  # the provider's content filter stopped the answer
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    scores: list[ExternalScore] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)  # columns for the mapping (taxonomy, intent, technique)


@dataclass
class SourceFile:
    """One file read by an importer."""

    kind: str  # inspect | promptfoo | table
    path: Path
    sha256: str
    source_id: str  # the source's identity across versions (Inspect eval id, promptfoo evalId, else the path)
    name: str  # a run name suggested by the file (Inspect task, promptfoo description, file stem)
    items: list[RawItem]
    info: dict[str, Any] = field(default_factory=dict)  # tool versions, task, counts: kept in the run's config


def as_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def as_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def content_text(content: Any, *, file: Path, where: str) -> str:
    """A message's text: a string, or the text parts of a list of content parts (images etc. are skipped)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    raise UserInputError(f"{where}: message content is {type(content).__name__}, expected text", file=file)


def chat_messages(raw: Any, *, file: Path, where: str) -> list[dict[str, str]]:
    """A list of {role, content} messages (system, user, assistant turns; tool turns are left out)."""
    if not isinstance(raw, list) or not raw:
        raise UserInputError(f"{where}: expected a non-empty list of chat messages", file=file)
    out = []
    for n, m in enumerate(raw):
        if not isinstance(m, dict) or "role" not in m:
            raise UserInputError(f"{where}: message {n} has no role", file=file)
        role = m["role"]
        if role not in ("system", "user", "assistant"):
            continue
        text = content_text(m.get("content"), file=file, where=where)
        if text.strip():
            out.append({"role": str(role), "content": text})
    return out
