"""Opening the DuckDB file: short-lived connections that wait briefly for the other process.

DuckDB lets one process write a file at a time (and readers exclude writers), so judge holds
the file only for short batched transactions and every opener retries while the file is locked.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from judge.errors import UserInputError
from judge.store.migrations import migrate

DEFAULT_DB = "runs/judge.duckdb"
LOCK_WAIT_S = float(os.environ.get("JUDGE_DB_LOCK_WAIT_S", "30"))


def default_db_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("JUDGE_DB") or DEFAULT_DB)


def _is_lock_error(e: Exception) -> bool:
    text = str(e).lower()
    return "lock" in text or "conflicting" in text or "resource temporarily unavailable" in text


def open_connection(path: Path, *, read_only: bool, wait_s: float = LOCK_WAIT_S) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    delay = 0.01
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as e:
            if not _is_lock_error(e) or time.monotonic() > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.25)


@contextmanager
def read_connection(path: str | Path, *, wait_s: float = LOCK_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection; the database must exist and be at the current schema."""
    path = Path(path)
    if not path.exists():
        raise UserInputError("database not found; run `judge run CONFIG` first or pass --db", file=path)
    con = open_connection(path, read_only=True, wait_s=wait_s)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def write_connection(
    path: str | Path, *, wait_s: float = LOCK_WAIT_S, migrated: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a migrated database (created if missing).

    `migrated=True` skips the migration check, for a writer that already ran it when it opened.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = open_connection(path, read_only=False, wait_s=wait_s)
    try:
        if not migrated:
            migrate(con)
        yield con
    finally:
        con.close()


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a query and fetch every row (duckdb 2 keeps a result pending until fully fetched)."""
    return con.execute(sql, params or []).fetchall()


def ensure_database(path: str | Path) -> None:
    """Create and migrate the database file if needed."""
    with write_connection(path):
        pass
