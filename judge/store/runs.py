"""Run bookkeeping: naming runs, finding the run to resume, resolving `latest`, reading a run's state."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Any

import duckdb

from judge.errors import UserInputError
from judge.store.db import fetch


def stable_hash(*parts: object, n: int = 20) -> str:
    """A short SHA-256 of the parts' JSON (ids of responses, verdicts and cache keys: never change it)."""
    texts = [p for p in parts if type(p) is str]
    if len(texts) == len(parts):  # the usual case, once per row: json.dumps' exact text, in half the time
        raw = "[" + ", ".join(map(json.encoder.encode_basestring, texts)) + "]"
    else:
        raw = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:n]


def new_run_id(name: str, now: datetime) -> str:
    """Readable and unique: the config name, the start time and a random suffix."""
    return f"{name}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def find_resumable_run(con: duckdb.DuckDBPyConnection, name: str, fingerprint: str) -> str | None:
    """The latest run with the same name and fingerprint (config, prompts, rubric, code inputs)."""
    rows = fetch(
        con,
        "SELECT run_id FROM runs WHERE name = ? AND fingerprint = ? ORDER BY started_at DESC LIMIT 1",
        [name, fingerprint],
    )
    return rows[0][0] if rows else None


def resolve_run(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """A run id, a unique id prefix, `latest`, or `latest:NAME` (the newest run of that config name)."""
    if ref == "latest" or ref.startswith("latest:"):
        name = ref.partition(":")[2]
        sql = "SELECT run_id FROM runs" + (" WHERE name = ?" if name else "") + " ORDER BY started_at DESC LIMIT 1"
        rows = fetch(con, sql, [name] if name else [])
        if not rows:
            raise UserInputError(f"no runs{' named ' + name if name else ''} in this database", field="RUN")
        return str(rows[0][0])
    rows = fetch(con, "SELECT run_id FROM runs WHERE run_id = ? OR starts_with(run_id, ?)", [ref, ref])
    exact = [r[0] for r in rows if r[0] == ref]
    if exact:
        return str(exact[0])
    if len(rows) == 1:
        return str(rows[0][0])
    if not rows:
        raise UserInputError(f"no run {ref!r} in this database (see `judge runs`)", field="RUN")
    raise UserInputError(f"run {ref!r} is ambiguous: matches {len(rows)} runs", field="RUN")


def latest_run_named(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """The newest run of this config name, whatever its status."""
    rows = fetch(con, "SELECT run_id FROM runs WHERE name = ? ORDER BY started_at DESC LIMIT 1", [name])
    return str(rows[0][0]) if rows else None


def previous_finished_run(con: duckdb.DuckDBPyConnection, name: str, exclude: str | None) -> str | None:
    """The newest run of this config name other than `exclude` that finished: complete, or incomplete
    with a few error items (the nightly baseline: rates exclude errors, a gate decides if it is usable)."""
    rows = fetch(
        con,
        "SELECT run_id FROM runs WHERE name = ? AND status IN ('complete', 'incomplete') "
        "AND run_id IS DISTINCT FROM ? "
        "ORDER BY started_at DESC LIMIT 1",
        [name, exclude],
    )
    return str(rows[0][0]) if rows else None


def run_started_at(con: duckdb.DuckDBPyConnection, run_id: str) -> datetime | None:
    rows = fetch(con, "SELECT started_at FROM runs WHERE run_id = ?", [run_id])
    return rows[0][0] if rows else None


def run_finished_at(con: duckdb.DuckDBPyConnection, run_id: str) -> datetime | None:
    rows = fetch(con, "SELECT finished_at FROM runs WHERE run_id = ?", [run_id])
    return rows[0][0] if rows else None


RUN_ITEM_COUNTS = ("responses", "response_errors", "blocked", "verdicts", "verdict_errors")


def run_item_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """The run's responses and verdicts counted (keys RUN_ITEM_COUNTS): all, errors, blocked."""
    rows = fetch(
        con,
        """SELECT
             (SELECT count(*) FROM responses WHERE run_id = $1),
             (SELECT count(*) FROM responses WHERE run_id = $1 AND status = 'error'),
             (SELECT count(*) FROM responses WHERE run_id = $1 AND status = 'blocked'),
             (SELECT count(*) FROM verdicts WHERE run_id = $1),
             (SELECT count(*) FROM verdicts WHERE run_id = $1 AND status = 'error')""",
        [run_id],
    )
    return dict(zip(RUN_ITEM_COUNTS, (int(v) for v in rows[0]), strict=True))


def run_judge_names(con: duckdb.DuckDBPyConnection, run_id: str) -> set[str]:
    """The names of the run's judges (run_models, role judge)."""
    return {r[0] for r in fetch(con, "SELECT name FROM run_models WHERE run_id = ? AND role = 'judge'", [run_id])}


def other_judge_keys_named(con: duckdb.DuckDBPyConnection, run_id: str, name: str, model_key: str) -> list[str]:
    """Model keys of the run's judges called `name` other than `model_key` (a name clash)."""
    rows = fetch(
        con,
        "SELECT model_key FROM run_models WHERE run_id = ? AND role = 'judge' AND name = ? AND model_key <> ?",
        [run_id, name, model_key],
    )
    return [str(r[0]) for r in rows]


def judge_names_of_key(con: duckdb.DuckDBPyConnection, run_id: str, model_key: str) -> list[str]:
    """The names the run's judge with this model key is stored under (at most one in practice)."""
    rows = fetch(
        con,
        "SELECT name FROM run_models WHERE run_id = ? AND role = 'judge' AND model_key = ?",
        [run_id, model_key],
    )
    return [str(r[0]) for r in rows]


def judge_verdict_counts(
    con: duckdb.DuckDBPyConnection, run_id: str, judge_key: str, rubric_version: str
) -> tuple[int, int]:
    """(verdicts, of which not ok) of one judge under one rubric version in the run."""
    rows = fetch(
        con,
        "SELECT count(*), count(*) FILTER (WHERE status <> 'ok') FROM verdicts "
        "WHERE run_id = ? AND judge_key = ? AND rubric_version = ?",
        [run_id, judge_key, rubric_version],
    )
    return int(rows[0][0]), int(rows[0][1])


def run_row(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    cur = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    cols = [d[0] for d in cur.description or []]
    rows = cur.fetchall()
    return dict(zip(cols, rows[0], strict=True)) if rows else {}


PROMPT_COLUMNS = "p.prompt_id, p.text, p.messages, p.taxonomy_path, p.intent, p.technique, p.lang, p.metadata"


def prompt_from_row(row: tuple[Any, ...]) -> Any:
    """A PromptRow rebuilt from the prompts table (the columns of PROMPT_COLUMNS, in order)."""
    from judge.prompts.model import PromptRow

    pid, text, messages, path, intent, technique, lang, metadata = row
    data: dict[str, Any] = {
        "id": pid,
        "taxonomy": path.split("/"),
        "intent": intent,
        "technique": technique,
        "lang": lang,
        "metadata": json.loads(metadata) if metadata else {},
    }
    if messages:
        data["messages"] = json.loads(messages)
    else:
        data["prompt"] = text
    return PromptRow.model_validate(data)


# --- read functions for commands (`judge runs`, `judge prompts sample --exclude-run`) -----------
RUNS_SQL = """
SELECT run_id, name, started_at, status, targets, judges, n_prompts, cost_usd, offline_providers
FROM run_overview ORDER BY started_at DESC LIMIT ?
"""


def list_runs(con: duckdb.DuckDBPyConnection, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` runs, newest first, as plain JSON-ready dicts."""
    out = []
    for run_id, name, started, status, targets, judges, n_prompts, cost, offline in fetch(con, RUNS_SQL, [limit]):
        try:
            offline_list = sorted(set(json.loads(offline))) if offline else []
        except (json.JSONDecodeError, TypeError):
            offline_list = []
        out.append(
            {
                "run_id": run_id,
                "name": name,
                "started_at": started.isoformat(timespec="seconds") if started else None,
                "status": status,
                "targets": list(targets or []),
                "judges": list(judges or []),
                "n_prompts": int(n_prompts),
                "cost_usd": float(cost or 0.0),
                "offline_providers": offline_list,
            }
        )
    return out


def prompts_used_by_runs(con: duckdb.DuckDBPyConnection, refs: list[str]) -> tuple[set[str], set[str]]:
    """(prompt ids, prompt content hashes) used by the runs named in `refs` (`all` = every stored run)."""
    ids: set[str] = set()
    hashes: set[str] = set()
    for ref in refs:
        if ref == "all":
            result = fetch(con, "SELECT prompt_id, prompt_hash FROM run_prompts")
        else:
            result = fetch(
                con, "SELECT prompt_id, prompt_hash FROM run_prompts WHERE run_id = ?", [resolve_run(con, ref)]
            )
        ids.update(str(r[0]) for r in result)
        hashes.update(str(r[1]) for r in result)
    return ids, hashes
