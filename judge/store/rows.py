"""The store's rows, one typed class per table: every producer builds its rows here, nowhere else.

Each class has exactly the table's columns (tests/test_rows.py checks every column of every table
against the migrations, both ways), so a misspelt or forgotten column is a TypeError at the
producer, not a NULL in the database. They are plain dataclasses rather than pydantic models (and
not frozen, which costs 70 % more to build): a million verdicts are built per run and static typing
(mypy) is the check that costs nothing. `StoreWriter.add_row` takes one as it is (its `values()` in
column order are what the journal writes); `as_row()` gives the dict StoreWriter.add takes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

import duckdb

from judge.config import ModelSpec
from judge.prompts.model import PromptRow
from judge.rubric import Rubric
from judge.store.ingest import TABLES, WRITER_KEYED
from judge.tiers import Outcome


@dataclass
class StoreRow:
    """Base: a row of `TABLE`."""

    TABLE: ClassVar[str] = ""

    def as_row(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def values(self) -> tuple[Any, ...]:
        """The row's values in `columns()` order: a dataclass's __init__ sets its fields in that order, so
        its __dict__ holds them so (tests/test_rows.py checks every row class)."""
        return tuple(self.__dict__.values())

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass
class RunRow(StoreRow):
    TABLE: ClassVar[str] = "runs"
    run_id: str
    name: str
    fingerprint: str
    config_path: str | None
    config_json: str | None  # JSON text
    rubric_version: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | complete | incomplete | aborted | stopped
    status_reason: str | None
    offline_providers: str | None  # JSON list
    judge_version: str | None


@dataclass
class RubricRow(StoreRow):
    TABLE: ClassVar[str] = "rubrics"
    rubric_version: str
    name: str | None
    path: str | None
    content: str | None  # the rubric file: the judge prompt template, stored once per version


@dataclass
class PolicyRuleRow(StoreRow):
    TABLE: ClassVar[str] = "policy_rules"
    rubric_version: str
    intent: str
    match_path: str
    match_len: int
    tier: str
    outcome: str


@dataclass
class PromptStoreRow(StoreRow):
    TABLE: ClassVar[str] = "prompts"
    prompt_hash: str
    prompt_id: str
    text: str
    messages: str | None  # JSON
    taxonomy_path: str
    l1: str | None
    l2: str | None
    l3: str | None
    intent: str
    technique: str | None
    lang: str | None
    metadata: str | None  # JSON
    source_file: str | None


@dataclass
class RunPromptRow(StoreRow):
    TABLE: ClassVar[str] = "run_prompts"
    run_id: str
    prompt_hash: str
    prompt_id: str


@dataclass
class ModelRow(StoreRow):
    TABLE: ClassVar[str] = "models"
    model_key: str
    model: str
    label: str | None
    provider: str | None
    api_base: str | None
    api_key_env: str | None  # the variable's NAME only
    params: str | None  # JSON
    system_prompt: str | None
    offline: bool | None
    imported_from: str | None = None  # inspect | promptfoo | table for imported targets and external judges


@dataclass
class RunModelRow(StoreRow):
    TABLE: ClassVar[str] = "run_models"
    run_id: str
    model_key: str
    role: str  # target | judge
    name: str
    rubric_version: str | None = None  # judges: the rubric of the judge's latest grading in this run


@dataclass
class ResponseRow(StoreRow):
    TABLE: ClassVar[str] = "responses"
    response_id: str
    run_id: str
    prompt_hash: str
    prompt_id: str
    target_key: str
    target: str
    status: str  # ok | blocked | error
    text: str | None
    finish_reason: str | None
    error_kind: str | None
    error_message: str | None
    attempts: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    created_at: datetime
    reused_from: str | None = None


@dataclass
class VerdictRow(StoreRow):
    TABLE: ClassVar[str] = "verdicts"
    verdict_id: str
    run_id: str
    response_id: str
    judge_key: str
    judge: str
    rubric_version: str
    cache_key: str
    status: str  # ok | error | unsure
    tier: str | None
    confidence: float | None
    rationale: str | None
    raw_output: str | None
    error_kind: str | None
    error_message: str | None
    attempts: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    reused_from: str | None
    created_at: datetime
    decided_by: str | None = None  # cascade judges: the stage model whose verdict stands
    cascade: str | None = None  # cascade judges: every stage's answer (JSON)


@dataclass
class ModelCallRow(StoreRow):
    TABLE: ClassVar[str] = "model_calls"
    call_id: str
    run_id: str
    stage: str  # generate | judge
    model: str
    model_key: str
    item_id: str
    attempt: int
    status: str  # ok | blocked | error
    http_status: int | None
    error_kind: str | None
    error_message: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    started_at: datetime


@dataclass
class GoldLabelRow(StoreRow):
    TABLE: ClassVar[str] = "gold_labels"
    label_set: str
    item_key: str
    prompt_id: str
    response_id: str | None
    prompt_hash: str | None
    response_text_hash: str | None
    tier: str | None
    binary_label: str | None
    annotator: str
    labeled_at: datetime
    source_file: str | None
    note: str | None


@dataclass
class ProviderBatchRow(StoreRow):
    TABLE: ClassVar[str] = "provider_batches"
    batch_id: str
    run_id: str
    stage: str
    model_key: str
    model: str
    provider: str
    status: str
    item_ids: str  # JSON list
    n_items: int
    input_file_id: str | None
    output_file_id: str | None
    error_file_id: str | None
    submitted_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass
class JournalTokenRow(StoreRow):
    TABLE: ClassVar[str] = "journal_tokens"
    token_sha256: str
    run_id: str | None
    pid: int | None
    opened_at: datetime
    closed_at: datetime | None


@dataclass
class ImportRow(StoreRow):
    TABLE: ClassVar[str] = "imports"
    import_key: str
    run_id: str
    source_kind: str  # inspect | promptfoo | table
    source_ids: str  # JSON
    files: str  # JSON [{path, sha256, info}]
    options: str | None  # JSON
    items: int
    imported_at: datetime


# Every table judge writes, with its row class (schema_migrations is the migrator's own).
ROW_TYPES: dict[str, type[StoreRow]] = {
    cls.TABLE: cls
    for cls in (
        RunRow,
        RubricRow,
        PolicyRuleRow,
        PromptStoreRow,
        RunPromptRow,
        ModelRow,
        RunModelRow,
        ResponseRow,
        VerdictRow,
        ModelCallRow,
        GoldLabelRow,
        ProviderBatchRow,
        ImportRow,
        JournalTokenRow,
    )
}


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """Write rows straight into a table (a row with an existing key replaces it): for tests and tools
    that hold a connection; the pipeline writes through StoreWriter."""
    if not rows:
        return
    cols = list(rows[0])
    if table in WRITER_KEYED:  # no key index (migration 017): the stored rows with these keys go first
        key_cols = TABLES[table][0]
        rows = list({tuple(r[k] for k in key_cols): r for r in rows}.values())  # the last row of a key wins
        keys = ", ".join(key_cols)
        con.executemany(
            f"DELETE FROM {table} WHERE ({keys}) = ({', '.join('?' * len(key_cols))})",
            [[r[k] for k in key_cols] for r in rows],
        )
        con.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [[r[c] for c in cols] for r in rows],
        )
        return
    sql = f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    con.executemany(sql, [[r[c] for c in cols] for r in rows])


# --- builders from the objects the pipeline holds ----------------------------------------------------
def model_row(spec: ModelSpec, offline: bool) -> dict[str, Any]:
    return ModelRow(
        model_key=spec.key,
        model=spec.model,
        label=spec.label,
        provider=spec.provider,
        # replicas (a list of bases) as a JSON list; one base as itself
        api_base=spec.api_base if not isinstance(spec.api_base, tuple) else json.dumps(list(spec.api_base)),
        api_key_env=spec.api_key_env,
        params=json.dumps(spec.params, sort_keys=True, default=str),
        system_prompt=spec.system_prompt,
        offline=offline,
    ).as_row()


def run_model_row(run_id: str, spec: ModelSpec, role: str, rubric_version: str | None = None) -> dict[str, Any]:
    """A model's place in a run; a judge's row names the rubric version it grades under now."""
    return RunModelRow(
        run_id=run_id, model_key=spec.key, role=role, name=spec.name, rubric_version=rubric_version
    ).as_row()


def rubric_row(rubric: Rubric, path: str, content: str) -> dict[str, Any]:
    return RubricRow(rubric_version=rubric.version, name=rubric.name, path=path, content=content).as_row()


def policy_rows(rubric: Rubric) -> list[dict[str, Any]]:
    rows = []
    layers: list[tuple[tuple[str, ...], dict[Any, Any]]] = [((), dict(rubric.policy))]
    layers += [(ov.match, dict(ov.intents)) for ov in rubric.overrides]
    for match, intents in layers:
        for intent, pol in intents.items():
            for outcome in Outcome:
                for tier in getattr(pol, outcome.value):
                    rows.append(
                        PolicyRuleRow(
                            rubric_version=rubric.version,
                            intent=intent.value,
                            match_path="/".join(match),
                            match_len=len(match),
                            tier=tier,
                            outcome=outcome.value,
                        ).as_row()
                    )
    return rows


def prompt_row(p: PromptRow, source: str) -> dict[str, Any]:
    return PromptStoreRow(
        prompt_hash=p.content_hash,
        prompt_id=p.id,
        text=p.text,
        messages=json.dumps(p.chat(), ensure_ascii=False) if p.messages else None,
        taxonomy_path="/".join(p.taxonomy),
        l1=p.level(1),
        l2=p.level(2),
        l3=p.level(3),
        intent=p.intent.value,
        technique=p.technique,
        lang=p.lang,
        metadata=json.dumps(p.metadata, ensure_ascii=False, default=str),
        source_file=source,
    ).as_row()


def run_prompt_row(run_id: str, p: PromptRow) -> dict[str, Any]:
    return RunPromptRow(run_id=run_id, prompt_hash=p.content_hash, prompt_id=p.id).as_row()
