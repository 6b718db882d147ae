"""The audit trail rebuilt from the store: a stored rubric, and the exact judge prompt of a verdict.

The rendered judge prompt is not stored per verdict (it would be most of the database): the rubric
file's content is stored once per rubric version (table `rubrics`), and the prompt is rendered
again from it, the prompt and the response text, with the same code the judge stage used.
tests/test_audit.py checks the result equals what the judge server received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from judge.errors import UserInputError
from judge.rubric import Rubric, rubric_from_text
from judge.store.db import fetch


def stored_rubric(con: duckdb.DuckDBPyConnection, version: str) -> Rubric:
    """The rubric stored under `version` (its file content, parsed and validated again)."""
    rows = fetch(con, "SELECT content, path FROM rubrics WHERE rubric_version = ?", [version])
    if not rows or rows[0][0] is None:
        raise UserInputError(f"rubric {version} is not stored in this database", field="rubric")
    content, path = str(rows[0][0]), rows[0][1]
    return rubric_from_text(content, version, source=path or f"rubric {version}")


def request_text(text: str, messages: Any) -> str:
    """The user request as the judge sees it (judge.judging.render.prompt_as_text, from stored columns)."""
    if messages is None:
        return text
    chat = json.loads(messages) if isinstance(messages, str) else messages
    return "\n".join(f"[{m['role']}] {m['content']}" for m in chat)


@dataclass(frozen=True)
class JudgePrompt:
    verdict_id: str
    judge: str
    rubric_version: str
    messages: list[dict[str, str]]

    @property
    def text(self) -> str:
        from judge.judging.render import messages_as_text

        return messages_as_text(self.messages)


def judge_prompt(con: duckdb.DuckDBPyConnection, verdict_id: str) -> JudgePrompt:
    """The messages the judge was sent for this verdict (a verdict id or a unique prefix of one)."""
    from judge.judging.render import render_judge_messages_for

    rows = fetch(
        con,
        """SELECT v.verdict_id, v.judge, v.rubric_version, p.text, p.messages, r.text
           FROM verdicts v JOIN responses r USING (response_id) JOIN prompts p ON p.prompt_hash = r.prompt_hash
           WHERE v.verdict_id = ? OR starts_with(v.verdict_id, ?) LIMIT 2""",
        [verdict_id, verdict_id],
    )
    exact = [r for r in rows if r[0] == verdict_id]
    if not exact and len(rows) != 1:
        problem = "is ambiguous" if rows else "is not in this database"
        raise UserInputError(f"verdict {verdict_id!r} {problem}", field="VERDICT_ID")
    vid, judge, version, ptext, pmessages, rtext = (exact or rows)[0]
    rubric = stored_rubric(con, str(version))
    messages = render_judge_messages_for(rubric, request_text(str(ptext), pmessages), rtext or "")
    return JudgePrompt(str(vid), str(judge), str(version), messages)
