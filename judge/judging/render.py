"""Rendering the judge prompt, with the graded text quoted as data inside unforgeable markers.

The prompt and the response are untrusted. Each is wrapped in BEGIN/END markers carrying a
nonce derived from the content, any marker-like sequence inside the data is defused, and the
template is filled in one pass so placeholders inside the data are never expanded.
"""

from __future__ import annotations

import hashlib
import re

from judge.prompts.model import PromptRow
from judge.rubric import Rubric

_PLACEHOLDER = re.compile(r"\{(tiers|prompt|response)\}")


def _nonce(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def defuse(text: str) -> str:
    """Break up anything that looks like a marker so data cannot close its own section."""
    return text.replace("<<<", "<< <").replace(">>>", "> >>")


def quote(label: str, text: str, nonce: str) -> str:
    return f"<<<BEGIN {label} {nonce}>>>\n{defuse(text)}\n<<<END {label} {nonce}>>>"


def prompt_as_text(prompt: PromptRow) -> str:
    if prompt.messages is None:
        return prompt.text
    return "\n".join(f"[{m.role}] {m.content}" for m in prompt.messages)


def render_judge_messages(rubric: Rubric, prompt: PromptRow, response_text: str) -> list[dict[str, str]]:
    return render_judge_messages_for(rubric, prompt_as_text(prompt), response_text)


def render_judge_messages_for(rubric: Rubric, request_text: str, response_text: str) -> list[dict[str, str]]:
    """The judge's messages for a request (as `prompt_as_text` gives it) and a response text."""
    nonce = _nonce(request_text, response_text)
    values = {
        "tiers": rubric.tier_block(),
        "prompt": quote("USER REQUEST", request_text, nonce),
        "response": quote("RESPONSE", response_text, nonce),
    }
    user = _PLACEHOLDER.sub(lambda m: values[m.group(1)], rubric.judge_template)
    return [{"role": "system", "content": rubric.judge_system.strip()}, {"role": "user", "content": user}]


def messages_as_text(messages: list[dict[str, str]]) -> str:
    """The rendered prompt as stored with each verdict, for audit."""
    return "\n\n".join(f"### {m['role']}\n{m['content']}" for m in messages)
