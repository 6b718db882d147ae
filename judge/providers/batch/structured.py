"""A batch judge's structured output, made and checked exactly as instructor does it for online judges.

The request carries what instructor would send for the judge's `judge_mode` (the forced tool call, or
the JSON-schema instructions), and the answer is parsed and validated by instructor's own response
handlers into the same JudgeVerdict: one schema and one validation for batch and online judges.
"""

from __future__ import annotations

from typing import Any

from judge.judging.verdict import JudgeVerdict

# judge_mode -> instructor mode, per provider API (online judges reach Anthropic through litellm,
# which translates the OpenAI-shaped request; a batch request must be in the provider's own shape)
MODES = {
    "openai": {"tools": "TOOLS", "json": "JSON", "md_json": "MD_JSON"},
    "anthropic": {"tools": "ANTHROPIC_TOOLS", "json": "ANTHROPIC_JSON", "md_json": "ANTHROPIC_JSON"},
}


def _mode(provider: str, judge_mode: str) -> Any:
    import instructor

    return getattr(instructor.Mode, MODES[provider][judge_mode])


def judge_request(provider: str, judge_mode: str, messages: list[dict[str, str]]) -> dict[str, Any]:
    """The request fields instructor adds for this mode (messages, tools / schema instructions, ...)."""
    from instructor.v2.core.response import handle_response_model

    _, kwargs = handle_response_model(JudgeVerdict, mode=_mode(provider, judge_mode), messages=list(messages))
    return dict(kwargs)


def parse_verdict(provider: str, judge_mode: str, body: dict[str, Any]) -> JudgeVerdict:
    """The verdict in a provider's answer body; raises when it does not fit the schema (as online)."""
    from instructor.v2.core.response import process_response

    if provider == "openai":
        from openai.types.chat import ChatCompletion

        completion: Any = ChatCompletion.model_validate(body)
    else:
        from anthropic.types import Message

        completion = Message.model_validate(body)
    verdict = process_response(completion, response_model=JudgeVerdict, stream=False, mode=_mode(provider, judge_mode))
    if not isinstance(verdict, JudgeVerdict):
        raise ValueError(f"expected a JudgeVerdict, got {type(verdict).__name__}")
    return verdict
