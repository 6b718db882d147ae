"""The judge's structured-output request as instructor defines it, computed once per judge_mode.

instructor stays the definition: its own request handler (Provider.OPENAI, as `from_litellm` uses)
is run once on a probe conversation to learn what it adds (the `JudgeVerdict` tool and tool_choice,
or the JSON-schema instruction and response_format), and that is replayed on every request. Answers
are parsed and re-asks are built by instructor's own handlers for the mode, so the validation error
goes back to the model in exactly instructor's message shape.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from judge.judging.verdict import JudgeVerdict

INSTRUCTOR_MODES = {"tools": "TOOLS", "json": "JSON", "md_json": "MD_JSON"}
_PROBE_SYSTEM = "\x00judge-probe-system\x00"
_PROBE_USER = "\x00judge-probe-user\x00"


@dataclass(frozen=True)
class VerdictRequest:
    """What instructor adds to a judge request in one mode."""

    mode: str
    extra: dict[str, Any]  # tools/tool_choice or response_format
    system_suffix: str  # appended to the system message (JSON modes): "" for tools
    user_suffix: str  # appended to the last user message (MD_JSON): ""
    handlers: Any  # instructor's handlers for the mode: response_parser, reask_handler
    response_model: Any  # JudgeVerdict as instructor prepared it

    def messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The conversation instructor would send for these (system + user) messages."""
        out = [dict(m) for m in messages]
        if self.system_suffix:
            if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
                out[0]["content"] += self.system_suffix
            else:
                out.insert(0, {"role": "system", "content": self.system_suffix.removeprefix("\n\n")})
        if self.user_suffix:
            if out[-1].get("role") == "user" and isinstance(out[-1].get("content"), str):
                out[-1]["content"] += self.user_suffix
            else:
                out.append({"role": "user", "content": self.user_suffix.removeprefix("\n\n")})
        return out

    @property
    def tool_name(self) -> str | None:
        """The verdict tool's name (tools mode), else None."""
        tools = self.extra.get("tools") or []
        return str(tools[0]["function"]["name"]) if tools else None

    def parse(self, completion: Any) -> JudgeVerdict:
        """instructor's parser for the mode; raises what instructor retries on (ValidationError, ...).

        Before it, the checks instructor's parser leaves out: the tool called must be the verdict tool,
        and several calls must not disagree (instructor would silently take the first).
        """
        problem = verdict_call_problem(completion, self.tool_name)
        if problem is not None:
            from instructor.v2.core.errors import ResponseParsingError

            raise ResponseParsingError(problem, mode=self.mode, raw_response=completion)
        verdict: JudgeVerdict = self.handlers.response_parser(
            response=completion, response_model=self.response_model, validation_context=None, strict=True
        )
        return verdict

    def reask(self, kwargs: dict[str, Any], completion: Any, exc: BaseException) -> dict[str, Any]:
        """instructor's re-ask for the mode: the request with the answer and the validation error appended."""
        out: dict[str, Any] = self.handlers.reask_handler(kwargs=kwargs, response=completion, exception=exc)
        return out


def verdict_call_problem(completion: Any, tool_name: str | None) -> str | None:
    """What is wrong with a tools-mode answer's calls (another function, disagreeing verdicts), or None."""
    if tool_name is None:
        return None
    try:
        calls = completion.choices[0].message.tool_calls or []
    except (AttributeError, IndexError, TypeError):
        return None
    names = [str(getattr(c.function, "name", "")) for c in calls]
    wrong = [n for n in names if n != tool_name]
    if wrong:
        return f"the answer called the function {wrong[0][:100]!r}, not the verdict tool {tool_name!r}"
    if len(calls) > 1:
        arguments = {_canonical_arguments(getattr(c.function, "arguments", None)) for c in calls}
        if len(arguments) > 1:
            return f"the answer called {tool_name!r} {len(calls)} times with different verdicts: give exactly one"
    return None


def _canonical_arguments(arguments: Any) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except (TypeError, ValueError):
        return str(arguments)


def retryable_parse_errors() -> tuple[type[BaseException], ...]:
    """The parse errors instructor answers with a re-ask (its own list)."""
    from instructor.v2.core import retry

    return tuple(retry._RETRYABLE_PARSE_ERRORS)


@cache
def verdict_request(mode: str) -> VerdictRequest:
    """Run instructor's request handler once on a probe conversation and keep what it added."""
    from instructor.v2.core.mode import Mode
    from instructor.v2.core.providers import Provider
    from instructor.v2.core.registry import mode_registry
    from instructor.v2.core.response_model import prepare_response_model

    imode = getattr(Mode, INSTRUCTOR_MODES[mode])
    handlers = mode_registry.get_handlers(Provider.OPENAI, imode)
    model = prepare_response_model(JudgeVerdict)
    probe = [{"role": "system", "content": _PROBE_SYSTEM}, {"role": "user", "content": _PROBE_USER}]
    prepared, kwargs = handlers.request_handler(response_model=model, kwargs={"messages": copy.deepcopy(probe)})
    messages = kwargs.pop("messages")
    if len(messages) != 2 or [m["role"] for m in messages] != ["system", "user"]:
        raise RuntimeError(f"instructor {mode} mode reshaped the conversation unexpectedly: {messages!r}")
    system, user = messages[0]["content"], messages[1]["content"]
    if not (system.startswith(_PROBE_SYSTEM) and user.startswith(_PROBE_USER)):
        raise RuntimeError(f"instructor {mode} mode rewrote the judge prompt instead of extending it")
    return VerdictRequest(
        mode=mode,
        extra=kwargs,
        system_suffix=system[len(_PROBE_SYSTEM) :],
        user_suffix=user[len(_PROBE_USER) :],
        handlers=handlers,
        response_model=prepared,
    )
