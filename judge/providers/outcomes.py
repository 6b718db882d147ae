"""Reading a model's answer the same way on every path: blocked finish reasons, the judge's raw output."""

from __future__ import annotations

import json
from typing import Any

from judge.providers.errors import ErrorInfo
from judge.secrets import redact

BLOCKED_FINISH_REASONS = frozenset({"content_filter", "refusal"})
JUDGE_PARSE_RETRIES = 2  # instructor re-asks after an answer that does not fit the schema


def empty_answer(text: str | None, tool_calls: Any, finish: str | None) -> ErrorInfo | None:
    """A target answer with no text and no tool call is an `empty_response` error (retried), never an
    empty answer handed to the judges: they would grade the silence (as a refusal, typically)."""
    if text or tool_calls:
        return None
    return ErrorInfo("empty_response", f"the model answered with no text (finish_reason {finish})", None)


def finish_reason(completion: Any) -> str | None:
    try:
        return str(completion.choices[0].finish_reason)
    except (AttributeError, IndexError, TypeError):
        return None


def raw_output(completion: Any) -> str | None:
    """The judge's answer as it came back: tool-call arguments or message content."""
    if completion is None:
        return None
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return redact(str(completion)[:20000])
    tool_calls = getattr(message, "tool_calls", None) or []
    if tool_calls:
        return json.dumps([tc.function.arguments for tc in tool_calls])[:20000]
    content = getattr(message, "content", None)
    return content[:20000] if isinstance(content, str) else None


def no_verdict_message(answers: int, error: object, judge_mode: str, last: Any) -> str:
    """Why a judge gave no valid verdict; says what to change when a tools-mode judge answered in text."""
    message = f"no valid verdict after {answers} answer(s): {str(error)[:500]}"
    try:
        answer = last.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return message
    if judge_mode == "tools" and not getattr(answer, "tool_calls", None) and getattr(answer, "content", None):
        message += (
            " (the judge answered in text without calling the verdict tool: if its server has no tool calling,"
            " set judge_mode: json)"
        )
    return message


def usage_tokens(resp: Any) -> tuple[int | None, int | None]:
    usage = getattr(resp, "usage", None)
    if usage is None:
        return None, None
    return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
