"""Reads of the imports table: earlier imports of the same files or source, and an imported run's answers."""

from __future__ import annotations

from typing import Any

import duckdb

from judge.store.db import fetch


def has_imports_table(con: duckdb.DuckDBPyConnection) -> bool:
    """False on a database not yet migrated to the imports schema (opened read-only)."""
    return bool(fetch(con, "SELECT 1 FROM information_schema.tables WHERE table_name = 'imports'"))


def run_of_import(con: duckdb.DuckDBPyConnection, import_key: str) -> str | None:
    """The run an import with this key (same files and options) was written to, if any."""
    rows = fetch(con, "SELECT run_id FROM imports WHERE import_key = ?", [import_key])
    return str(rows[0][0]) if rows else None


def imports_of_kind(con: duckdb.DuckDBPyConnection, kind: str) -> list[tuple[str, str]]:
    """(run_id, source_ids as JSON text) of every import of this source kind, newest first."""
    return [
        (str(r[0]), r[1])
        for r in fetch(
            con, "SELECT run_id, source_ids FROM imports WHERE source_kind = ? ORDER BY imported_at DESC", [kind]
        )
    ]


def imported_answers(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[Any, ...]]:
    """The run's responses as (prompt_id, target, response_id, prompt_hash, status, text, external scores),
    by prompt, target and time; the scores are 'judge=raw_output' of the imported judges joined by ';'."""
    return fetch(
        con,
        """SELECT r.prompt_id, r.target, r.response_id, r.prompt_hash, r.status, r.text,
                  (SELECT string_agg(v.judge || '=' || coalesce(v.raw_output, ''), ';' ORDER BY v.judge)
                   FROM verdicts v JOIN models m ON m.model_key = v.judge_key
                   WHERE v.response_id = r.response_id AND m.imported_from IS NOT NULL)
           FROM responses r WHERE r.run_id = ? ORDER BY r.prompt_id, r.target, r.created_at, r.response_id""",
        [run_id],
    )
