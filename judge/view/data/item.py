"""One response in full: its prompt or conversation, every judge's verdict and prompt, each model call, gold labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from judge.compare.gold import has_gold_table
from judge.errors import UserInputError
from judge.rubric import Rubric
from judge.store.audit import judge_prompt, stored_rubric
from judge.view.sql import fetch_all

MAX_TEXT_CHARS = 100_000  # longer texts are cut on the page, with the full length shown


@dataclass(frozen=True)
class Text:
    """A stored text, cut at MAX_TEXT_CHARS for the page."""

    value: str
    length: int

    @property
    def truncated(self) -> bool:
        return self.length > len(self.value)

    @classmethod
    def of(cls, raw: str | None) -> Text:
        raw = raw or ""
        return cls(raw[:MAX_TEXT_CHARS], len(raw))


@dataclass(frozen=True)
class Message:
    role: str
    content: Text


@dataclass(frozen=True)
class VerdictView:
    verdict_id: str
    judge: str
    rubric_version: str
    is_run_rubric: bool
    status: str
    tier: str | None
    outcome: str | None
    confidence: float | None
    rationale: Text
    error_kind: str | None
    error_message: str | None
    judge_prompt: Text
    raw_output: Text
    attempts: int | None
    latency_ms: float | None
    cost_usd: float | None
    reused_from: str | None
    created_at: Any


@dataclass(frozen=True)
class CallView:
    stage: str
    model: str
    attempt: int
    status: str
    http_status: int | None
    error_kind: str | None
    error_message: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    started_at: Any
    judge: str | None  # for judge calls: which verdict's judge


@dataclass(frozen=True)
class GoldView:
    label_set: str
    annotator: str
    tier: str | None
    binary_label: str | None
    labeled_at: Any
    source_file: str | None
    note: str | None
    matched_by: str  # response_id | text hash


@dataclass(frozen=True)
class Sibling:
    response_id: str
    target: str
    status: str


@dataclass(frozen=True)
class ItemPage:
    response_id: str
    run_id: str
    run_rubric: str | None
    prompt_id: str
    taxonomy_path: str
    intent: str
    technique: str | None
    lang: str | None
    metadata: str | None
    prompt: Text
    messages: list[Message]
    target: str
    status: str
    response: Text
    finish_reason: str | None
    error_kind: str | None
    error_message: str | None
    attempts: int | None
    latency_ms: float | None
    cost_usd: float | None
    reused_from: str | None
    verdicts: list[VerdictView]
    calls: list[CallView]
    gold: list[GoldView]
    siblings: list[Sibling]  # the other targets' responses to the same prompt in the run


def _messages(raw: Any) -> list[Message]:
    if not raw:
        return []
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return [Message("(unreadable messages)", Text.of(str(raw)))]
    if not isinstance(data, list):
        return [Message("(unreadable messages)", Text.of(str(raw)))]
    out = []
    for m in data:
        if isinstance(m, dict):
            content = m.get("content")
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            out.append(Message(str(m.get("role", "?")), Text.of(text)))
    return out


def item_page(con: duckdb.DuckDBPyConnection, response_id: str) -> ItemPage:
    rows = fetch_all(
        con,
        """SELECT r.run_id, run.rubric_version, p.prompt_id, p.taxonomy_path, p.intent, p.technique, p.lang,
                  p.metadata::VARCHAR, p.text, p.messages::VARCHAR, r.target, r.status, r.text, r.finish_reason,
                  r.error_kind, r.error_message, r.attempts, r.latency_ms, r.cost_usd, r.reused_from,
                  r.prompt_hash
           FROM responses r JOIN prompts p ON p.prompt_hash = r.prompt_hash
           LEFT JOIN runs run ON run.run_id = r.run_id
           WHERE r.response_id = ?""",
        [response_id],
    )
    if not rows:
        raise UserInputError(f"no response {response_id!r} in this database", field="response")
    r = rows[0]
    run_id, rubric, intent, path = r[0], r[1], r[4], r[3]
    verdicts = _verdicts(con, run_id, response_id, rubric, intent, path, r[11])
    return ItemPage(
        response_id=response_id,
        run_id=run_id,
        run_rubric=rubric,
        prompt_id=r[2],
        taxonomy_path=path,
        intent=intent,
        technique=r[5],
        lang=r[6],
        metadata=r[7] if r[7] not in (None, "{}") else None,
        prompt=Text.of(r[8]),
        messages=_messages(r[9]),
        target=r[10],
        status=r[11],
        response=Text.of(r[12]),
        finish_reason=r[13],
        error_kind=r[14],
        error_message=r[15],
        attempts=r[16],
        latency_ms=r[17],
        cost_usd=r[18],
        reused_from=r[19],
        verdicts=verdicts,
        calls=_calls(con, run_id, response_id, verdicts),
        gold=_gold(con, response_id, r[2], r[12]),
        siblings=[
            Sibling(str(a), str(b), str(c))
            for a, b, c in fetch_all(
                con,
                "SELECT response_id, target, status FROM responses WHERE run_id = ? AND prompt_hash = ? "
                "AND response_id <> ? ORDER BY target",
                [run_id, r[20], response_id],
            )
        ],
    )


def _verdicts(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    response_id: str,
    rubric: str | None,
    intent: str,
    path: str,
    status: str,
) -> list[VerdictView]:
    rubrics: dict[str, Rubric] = {}
    out = []
    for v in fetch_all(
        con,
        """SELECT verdict_id, judge, rubric_version, status, tier, confidence, rationale, error_kind, error_message,
                  NULL AS judge_prompt, raw_output, attempts, latency_ms, cost_usd, reused_from, created_at
           FROM verdicts WHERE run_id = ? AND response_id = ?
           ORDER BY rubric_version = ? DESC, judge, rubric_version""",
        [run_id, response_id, rubric],
    ):
        version = str(v[2])
        if version not in rubrics:
            rubrics[version] = stored_rubric(con, version)
        tier = "blocked" if status == "blocked" else v[4]
        outcome = rubrics[version].outcome_at(intent, tier, path).value if tier and v[3] == "ok" else None
        out.append(
            VerdictView(
                verdict_id=v[0],
                judge=v[1],
                rubric_version=version,
                is_run_rubric=version == rubric,
                status=v[3],
                tier=v[4],
                outcome=outcome,
                confidence=v[5],
                rationale=Text.of(v[6]),
                error_kind=v[7],
                error_message=v[8],
                judge_prompt=Text.of(judge_prompt(con, v[0]).text),  # rebuilt from the stored rubric
                raw_output=Text.of(v[10]),
                attempts=v[11],
                latency_ms=v[12],
                cost_usd=v[13],
                reused_from=v[14],
                created_at=v[15],
            )
        )
    return out


def _calls(
    con: duckdb.DuckDBPyConnection, run_id: str, response_id: str, verdicts: list[VerdictView]
) -> list[CallView]:
    judge_of = {v.verdict_id: v.judge for v in verdicts}
    ids = [response_id, *judge_of]
    return [
        CallView(
            stage=c[0],
            model=c[1],
            attempt=int(c[2]),
            status=c[3],
            http_status=c[4],
            error_kind=c[5],
            error_message=c[6],
            prompt_tokens=c[7],
            completion_tokens=c[8],
            cost_usd=c[9],
            latency_ms=c[10],
            started_at=c[11],
            judge=judge_of.get(c[12]),
        )
        for c in fetch_all(
            con,
            """SELECT stage, model, attempt, status, http_status, error_kind, error_message, prompt_tokens,
                      completion_tokens, cost_usd, latency_ms, started_at, item_id
               FROM model_calls WHERE run_id = ? AND item_id = ANY(?::VARCHAR[])
               ORDER BY stage = 'judge', started_at, attempt""",
            [run_id, ids],
        )
    ]


def _gold(con: duckdb.DuckDBPyConnection, response_id: str, prompt_id: str, text: str | None) -> list[GoldView]:
    if not has_gold_table(con):
        return []
    return [
        GoldView(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7])
        for g in fetch_all(
            con,
            """SELECT label_set, annotator, tier, binary_label, labeled_at, source_file, note,
                      CASE WHEN response_id = $rid THEN 'response_id' ELSE 'text hash' END
               FROM gold_labels
               WHERE response_id = $rid
                  OR (response_id IS NULL AND prompt_id = $pid AND response_text_hash = sha256($text))
               ORDER BY label_set, annotator""",
            {"rid": response_id, "pid": prompt_id, "text": text or ""},
        )
    ]
