"""Imported records → a run: prompt rows, responses and external verdicts, written in one transaction.

Everything is built and validated in memory first (bad input: one line, exit 2, nothing written); the rows
then go to DuckDB in a single transaction. An import is keyed by the files' contents and the options: the
same import again adds nothing; a file whose source was imported before is compared with that import.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from judge import __version__
from judge.prompts.model import PromptRow
from judge.providers.base import utcnow
from judge.rubric import Rubric
from judge.sources.items import ExternalScore, RawItem, SourceFile, Tick
from judge.sources.mapping import PromptMapper
from judge.sources.scores import judge_verdict
from judge.store.db import read_connection
from judge.store.imports import has_imports_table, imported_answers, imports_of_kind, run_of_import
from judge.store.rows import ROW_TYPES, policy_rows, prompt_row
from judge.store.runs import new_run_id, stable_hash


@dataclass
class ImportPlan:
    """A validated import, ready to write."""

    kind: str
    name: str
    import_key: str
    files: list[SourceFile]
    rubric: Rubric
    rubric_path: Path
    options: dict[str, Any]
    rows: list[tuple[RawItem, PromptRow]]
    score_map: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    @property
    def source_ids(self) -> list[str]:
        return sorted({f.source_id for f in self.files})


@dataclass
class ImportOutcome:
    run_id: str
    added: bool  # False: the same import exists already
    items: int
    responses_ok: int
    responses_error: int
    external: dict[str, int]  # external judge -> verdicts
    unsure: int
    targets: list[str]
    previous_run: str | None = None
    changes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def plan_import(
    kind: str,
    files: Sequence[SourceFile],
    mapper: PromptMapper,
    rubric: Rubric,
    rubric_path: Path,
    *,
    name: str | None,
    options: dict[str, Any],
    score_map: dict[str, str],
    taxonomy_path: Path,
) -> ImportPlan:
    """Map every record to a prompt row (raising on the first bad one) and key the import."""
    rows = []
    for f in files:
        mapper.file = f.path  # errors name the file the record came from
        rows += [(item, mapper.prompt_row(item)) for item in f.items]
    run_name = _run_name(name or files[0].name)
    key = stable_hash(
        "import", kind, sorted(f.sha256 for f in files), options, rubric.version, score_map, run_name, n=24
    )
    warnings = mapper.warnings(taxonomy_path)
    return ImportPlan(kind, run_name, key, list(files), rubric, rubric_path, options, rows, score_map, warnings)


def _run_name(raw: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in raw).strip("-.")
    return cleaned[:80] or "import"


def _model_key(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _model(key: str, model: str, label: str | None, provider: str, kind: str) -> dict[str, Any]:
    return {
        "model_key": key,
        "model": model,
        "label": label,
        "provider": provider,
        "api_base": None,
        "api_key_env": None,
        "params": "{}",
        "system_prompt": None,
        "offline": False,
        "imported_from": kind,
    }


class _Rows:
    """The rows of one import, grouped by table."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Through the table's typed row (judge.store.rows): a missing or unknown column fails here."""
        self.tables.setdefault(table, []).append(ROW_TYPES[table](**row).as_row())


def build_rows(plan: ImportPlan, run_id: str, tick: Tick | None = None) -> _Rows:
    out = _Rows()
    now = utcnow()
    rubric = plan.rubric
    out.add(
        "rubrics",
        {
            "rubric_version": rubric.version,
            "name": rubric.name,
            "path": str(plan.rubric_path),
            "content": plan.rubric_path.read_text(encoding="utf-8"),
        },
    )
    for row in policy_rows(rubric):
        out.add("policy_rules", row)
    source = ",".join(str(f.path) for f in plan.files)
    targets: dict[tuple[str, str], str] = {}
    judges: dict[str, str] = {}
    seen_prompts: set[str] = set()
    occurrences: Counter[tuple[str, str]] = Counter()
    for item, prompt in plan.rows:
        phash = prompt.content_hash
        if phash not in seen_prompts:
            seen_prompts.add(phash)
            out.add("prompts", prompt_row(prompt, source))
            out.add("run_prompts", {"run_id": run_id, "prompt_hash": phash, "prompt_id": prompt.id})
        tkey = targets.setdefault(
            (item.target_model, item.target), _model_key("imported", plan.kind, item.target_model, item.target)
        )
        occurrences[(phash, tkey)] += 1
        rid = "resp-" + stable_hash(run_id, tkey, phash, occurrences[(phash, tkey)])
        row = _response_row(plan.kind, run_id, rid, tkey, prompt, item, now)
        out.add("responses", row)
        if row["status"] == "ok":
            for score in item.scores:
                jkey = judges.setdefault(score.judge, _model_key("external", plan.kind, score.judge))
                out.add("verdicts", _external_verdict_row(plan, run_id, rid, jkey, prompt, score, now))
        if tick:
            tick(1)
    for (model, name), key in targets.items():
        provider = model.split("/", 1)[0] if "/" in model else model.split(":", 1)[0]
        out.add("models", _model(key, model, name if name != model else None, provider, plan.kind))
        out.add("run_models", {"run_id": run_id, "model_key": key, "role": "target", "name": name})
    for name, key in judges.items():
        out.add("models", _model(key, name, None, plan.kind, plan.kind))
        out.add("run_models", {"run_id": run_id, "model_key": key, "role": "judge", "name": name})
    files = [{"path": str(f.path), "sha256": f.sha256, "info": f.info} for f in plan.files]
    out.add(
        "runs",
        {
            "run_id": run_id,
            "name": plan.name,
            "fingerprint": plan.import_key,
            "config_path": str(plan.files[0].path),
            "config_json": json.dumps({"source": {"kind": plan.kind, "files": files, **plan.options}}, default=str),
            "rubric_version": rubric.version,
            "started_at": now,
            "finished_at": now,
            "status": "complete",
            "status_reason": f"imported from {plan.kind}",
            "offline_providers": "[]",
            "judge_version": __version__,
        },
    )
    out.add(
        "imports",
        {
            "import_key": plan.import_key,
            "run_id": run_id,
            "source_kind": plan.kind,
            "source_ids": json.dumps(plan.source_ids),
            "files": json.dumps(files, default=str),
            "options": json.dumps(plan.options, default=str),
            "items": len(plan.rows),
            "imported_at": now,
        },
    )
    return out


def _response_row(
    kind: str, run_id: str, rid: str, target_key: str, prompt: PromptRow, item: RawItem, now: datetime
) -> dict[str, Any]:
    status = "error" if item.error is not None else "blocked" if item.blocked else "ok"
    return {
        "response_id": rid,
        "run_id": run_id,
        "prompt_hash": prompt.content_hash,
        "prompt_id": prompt.id,
        "target_key": target_key,
        "target": item.target,
        "status": status,
        "text": item.text,
        "finish_reason": item.finish_reason,
        "error_kind": f"{kind}_error" if item.error is not None else None,
        "error_message": item.error,
        "attempts": None,
        "prompt_tokens": item.prompt_tokens,
        "completion_tokens": item.completion_tokens,
        "cost_usd": item.cost_usd,
        "latency_ms": item.latency_ms,
        "created_at": now,
        "reused_from": None,
    }


def _external_verdict_row(
    plan: ImportPlan, run_id: str, rid: str, judge_key: str, prompt: PromptRow, score: ExternalScore, now: datetime
) -> dict[str, Any]:
    from judge.stages.grade import verdict_id

    status, tier, reason = judge_verdict(score.value, plan.score_map, plan.rubric, prompt)
    return {
        "verdict_id": verdict_id(run_id, rid, judge_key, plan.rubric.version),
        "run_id": run_id,
        "response_id": rid,
        "judge_key": judge_key,
        "judge": score.judge,
        "rubric_version": plan.rubric.version,
        "cache_key": "ext-" + stable_hash(judge_key, rid),  # never matches a reusable verdict's key
        "status": status,
        "tier": tier,
        "confidence": None,
        "rationale": score.explanation,
        "raw_output": json.dumps(score.value, ensure_ascii=False, default=str),
        "error_kind": "unsure" if status == "unsure" else None,
        "error_message": reason,
        "attempts": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "cost_usd": None,
        "latency_ms": None,
        "reused_from": None,
        "created_at": now,
    }


# --- earlier imports ------------------------------------------------------------------------------
def find_same(db_path: Path, import_key: str) -> str | None:
    """The run of an identical earlier import, if any."""
    if not db_path.exists():
        return None
    with read_connection(db_path) as con:
        if not has_imports_table(con):
            return None
        return run_of_import(con, import_key)


def find_previous(db_path: Path, kind: str, source_ids: Sequence[str]) -> str | None:
    """The run of the latest earlier import of the same source (same Inspect eval, promptfoo eval or path)."""
    if not db_path.exists():
        return None
    with read_connection(db_path) as con:
        if not has_imports_table(con):
            return None
        rows = imports_of_kind(con, kind)
    wanted = set(source_ids)
    for run_id, ids in rows:
        if wanted & set(json.loads(ids)):
            return run_id
    return None


def _snapshot_db(db_path: Path, run_id: str) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    with read_connection(db_path) as con:
        rows = imported_answers(con, run_id)
    out: dict[tuple[str, str, int], tuple[Any, ...]] = {}
    count: Counter[tuple[str, str]] = Counter()
    for pid, target, _rid, phash, status, text, scores in rows:
        count[(pid, target)] += 1
        out[(pid, target, count[(pid, target)])] = (phash, status, text, scores or "")
    return out


def _snapshot_plan(rows: _Rows) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    scores: dict[str, list[str]] = {}
    for v in sorted(rows.tables.get("verdicts", []), key=lambda v: v["judge"]):
        scores.setdefault(v["response_id"], []).append(f"{v['judge']}={v['raw_output']}")
    out: dict[tuple[str, str, int], tuple[Any, ...]] = {}
    count: Counter[tuple[str, str]] = Counter()
    for r in rows.tables.get("responses", []):
        key = (r["prompt_id"], r["target"])
        count[key] += 1
        out[(*key, count[key])] = (r["prompt_hash"], r["status"], r["text"], ";".join(scores.get(r["response_id"], [])))
    return out


def describe_changes(db_path: Path, previous_run: str, rows: _Rows) -> dict[str, int]:
    """What changed since the previous import of the same source: answers added, removed, changed."""
    old, new = _snapshot_db(db_path, previous_run), _snapshot_plan(rows)
    both = old.keys() & new.keys()
    return {
        "added": len(new.keys() - old.keys()),
        "removed": len(old.keys() - new.keys()),
        "prompts changed": sum(1 for k in both if old[k][0] != new[k][0]),
        "answers changed": sum(1 for k in both if old[k][1:3] != new[k][1:3]),
        "scores changed": sum(1 for k in both if old[k][3] != new[k][3]),
        "unchanged": sum(1 for k in both if old[k] == new[k]),
    }


# --- writing --------------------------------------------------------------------------------------
def write_import(db_path: Path, plan: ImportPlan, tick: Tick | None = None) -> ImportOutcome:
    """Write the import as a new run in one transaction, unless the same import exists already."""
    from judge.store.writer import StoreWriter

    responses = [item for item, _ in plan.rows]
    same = find_same(db_path, plan.import_key)
    if same is not None:
        return _outcome(same, False, plan, responses)
    previous = find_previous(db_path, plan.kind, plan.source_ids)
    run_id = new_run_id(plan.name, utcnow())
    rows = build_rows(plan, run_id, tick)
    changes = describe_changes(db_path, previous, rows) if previous else {}
    with StoreWriter(db_path) as writer:
        writer.bind_run(run_id)
        for table, table_rows in rows.tables.items():
            for row in table_rows:
                writer.add(table, row, journal=False)
        writer.flush()  # one segment, one transaction: all of the import or nothing (kept in the journal if busy)
    outcome = _outcome(run_id, True, plan, responses)
    outcome.previous_run, outcome.changes = previous, changes
    return outcome


def _outcome(run_id: str, added: bool, plan: ImportPlan, items: list[RawItem]) -> ImportOutcome:
    external: Counter[str] = Counter()
    unsure = 0
    for item, prompt in plan.rows:
        if item.error is not None or item.blocked:
            continue
        for s in item.scores:
            external[s.judge] += 1
            unsure += judge_verdict(s.value, plan.score_map, plan.rubric, prompt)[0] == "unsure"
    return ImportOutcome(
        run_id=run_id,
        added=added,
        items=len(items),
        responses_ok=sum(1 for i in items if i.error is None),
        responses_error=sum(1 for i in items if i.error is not None),
        external=dict(sorted(external.items())),
        unsure=unsure,
        targets=sorted({i.target for i in items}),
        warnings=list(plan.warnings),
    )
