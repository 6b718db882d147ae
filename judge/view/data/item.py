"""One response in full: its prompt or conversation, every judge's verdict and prompt, each model call, gold labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from judge.compare.gold import has_gold_table
from judge.errors import UserInputError
from judge.judging.render import messages_as_text, render_judge_messages_for
from judge.rubric import Rubric
from judge.store.audit import request_text, stored_rubric
from judge.view.context import ViewContext
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


def item_page(ctx: ViewContext, con: duckdb.DuckDBPyConnection, response_id: str) -> ItemPage:
    """Everything about one response, each part read through an index: the response and its prompt by
    primary key, its verdicts and model calls by the owner indexes of migration 015, its siblings from
    the run index (a scan of the run's responses when that is not built)."""
    rows = fetch_all(
        con,
        """SELECT run_id, target, status, text, finish_reason, error_kind, error_message, attempts, latency_ms,
                  cost_usd, reused_from, prompt_hash, created_at
           FROM responses WHERE response_id = ?""",
        [response_id],
    )
    if not rows:
        raise UserInputError(f"no response {response_id!r} in this database", field="response")
    r = rows[0]
    run_id, status, rtext, prompt_hash = str(r[0]), str(r[2]), r[3], str(r[11])
    p = fetch_all(
        con,
        """SELECT prompt_id, taxonomy_path, intent, technique, lang, metadata::VARCHAR, text, messages::VARCHAR
           FROM prompts WHERE prompt_hash = ?""",
        [prompt_hash],
    )[0]
    rubric = fetch_all(con, "SELECT rubric_version FROM runs WHERE run_id = ?", [run_id])
    run_rubric = rubric[0][0] if rubric else None
    verdicts = _verdicts(ctx, con, response_id, run_rubric, (p[2], p[1], status), (p[6], p[7], rtext))
    siblings = _siblings(ctx, con, run_id, response_id, prompt_hash)
    return ItemPage(
        response_id=response_id,
        run_id=run_id,
        run_rubric=run_rubric,
        prompt_id=p[0],
        taxonomy_path=p[1],
        intent=p[2],
        technique=p[3],
        lang=p[4],
        metadata=p[5] if p[5] not in (None, "{}") else None,
        prompt=Text.of(p[6]),
        messages=_messages(p[7]),
        target=r[1],
        status=status,
        response=Text.of(rtext),
        finish_reason=r[4],
        error_kind=r[5],
        error_message=r[6],
        attempts=r[7],
        latency_ms=r[8],
        cost_usd=r[9],
        reused_from=r[10],
        verdicts=verdicts,
        calls=_calls(con, run_id, response_id, verdicts),
        gold=_gold(con, response_id, p[0], rtext),
        siblings=siblings,
    )


def _siblings(
    ctx: ViewContext, con: duckdb.DuckDBPyConnection, run_id: str, response_id: str, prompt_hash: str
) -> list[Sibling]:
    """The other targets' responses to the same prompt in the run: from the run's index when it is built
    and current (no waiting for one), else by a scan of the run's responses."""
    info = ctx.indexes.info(run_id)
    if info is not None and ctx.indexes.stamp(con, run_id) == info.stamp:
        cur = ctx.indexes.cursor()
        try:
            rows = fetch_all(
                cur,
                """SELECT DISTINCT response_id, target, response_status FROM scored
                   WHERE run_id = ? AND prompt_hash = ? AND response_id <> ? ORDER BY target, response_id""",
                [run_id, prompt_hash, response_id],
            )
        finally:
            cur.close()
    else:
        rows = fetch_all(
            con,
            "SELECT response_id, target, status FROM responses WHERE run_id = ? AND prompt_hash = ? "
            "AND response_id <> ? ORDER BY target, response_id",
            [run_id, prompt_hash, response_id],
        )
    return [Sibling(str(a), str(b), str(c)) for a, b, c in rows]


def stored_rubric_once(ctx: ViewContext, con: duckdb.DuckDBPyConnection, version: str) -> Rubric:
    """A stored rubric version, parsed once (a version's content never changes)."""
    return ctx.reports.get_or_compute(("rubric", version), lambda: stored_rubric(con, version))


_VERDICT_COLUMNS = """verdict_id, judge, rubric_version, status, tier, confidence, rationale, error_kind, error_message,
                      raw_output, attempts, latency_ms, cost_usd, reused_from, created_at"""


def _verdicts(
    ctx: ViewContext,
    con: duckdb.DuckDBPyConnection,
    response_id: str,
    rubric: str | None,
    place: tuple[str, str, str],
    texts: tuple[str, Any, str | None],
) -> list[VerdictView]:
    intent, path, status = place
    ptext, pmessages, rtext = texts
    # through the index verdicts_response (migration 015)
    found = fetch_all(con, f"SELECT {_VERDICT_COLUMNS} FROM verdicts WHERE response_id = ?", [response_id])
    found.sort(key=lambda v: (v[2] != rubric, v[1], v[2]))
    request = request_text(str(ptext), pmessages)
    out = []
    for v in found:
        version = str(v[2])
        rub = stored_rubric_once(ctx, con, version)
        tier = "blocked" if status == "blocked" else v[4]
        outcome = rub.outcome_at(intent, tier, path).value if tier and v[3] == "ok" else None
        # the exact judge prompt, rebuilt from the stored rubric as `judge show VERDICT_ID` does
        prompt = messages_as_text(render_judge_messages_for(rub, request, rtext or ""))
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
                judge_prompt=Text.of(prompt),
                raw_output=Text.of(v[9]),
                attempts=v[10],
                latency_ms=v[11],
                cost_usd=v[12],
                reused_from=v[13],
                created_at=v[14],
            )
        )
    return out


def _marks(values: list[str]) -> str:
    return ", ".join("?" * len(values))


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
            # `item_id IN (?, …)` goes through the index model_calls_item (migration 015)
            f"""SELECT stage, model, attempt, status, http_status, error_kind, error_message, prompt_tokens,
                       completion_tokens, cost_usd, latency_ms, started_at, item_id, run_id
                FROM model_calls WHERE item_id IN ({_marks(ids)})
                ORDER BY stage = 'judge', started_at, attempt""",
            ids,
        )
        if c[13] == run_id  # the run's own calls (a filter on run_id in SQL would not use the index)
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
