"""Run bookkeeping: naming runs, finding the run to resume, resolving `latest`."""

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


def run_row(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    cur = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    cols = [d[0] for d in cur.description or []]
    rows = cur.fetchall()
    return dict(zip(cols, rows[0], strict=True)) if rows else {}


def load_run_prompts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Any]:
    """The run's prompts as PromptRow models, rebuilt from the store."""
    from judge.prompts.model import PromptRow

    rows = fetch(
        con,
        """SELECT p.prompt_id, p.text, p.messages, p.taxonomy_path, p.intent, p.technique, p.lang, p.metadata
           FROM run_prompts rp JOIN prompts p USING (prompt_hash) WHERE rp.run_id = ? ORDER BY p.prompt_id""",
        [run_id],
    )
    out = []
    for pid, text, messages, path, intent, technique, lang, metadata in rows:
        row: dict[str, Any] = {
            "id": pid,
            "taxonomy": path.split("/"),
            "intent": intent,
            "technique": technique,
            "lang": lang,
            "metadata": json.loads(metadata) if metadata else {},
        }
        if messages:
            row["messages"] = json.loads(messages)
        else:
            row["prompt"] = text
        out.append(PromptRow.model_validate(row))
    return out


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
