"""`judge.connect(path)`: a read-only DuckDB connection for your own Python, polite to a running judge.

A run commits in short windows (see writer.py); a plain `duckdb.connect(path, read_only=True)`
that lands inside one fails with "Conflicting lock". This helper retries until the window closes
(up to `timeout_s`), so readers never fail while a run writes. Close the connection when done (or
use it in a `with` block): while you hold it, the run keeps its finished work in the journal and
writes it when you let go.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import duckdb

from judge.errors import UserInputError
from judge.store.db import check_database_file, default_db_path, open_connection


def connect(path: str | PathLike[str] | None = None, *, timeout_s: float = 30.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a judge database (default `$JUDGE_DB`, else runs/judge.duckdb).

    Waits up to `timeout_s` while a run holds the file for a commit; raises the DuckDB error if it
    is still held after that (by a process that keeps it, not by judge's short write windows).
    """
    db = default_db_path(Path(path) if path is not None else None)
    try:
        check_database_file(db, for_write=False)
    except UserInputError as e:
        raise FileNotFoundError(e.one_line()) if not db.exists() else ValueError(e.one_line()) from None
    return open_connection(db, read_only=True, wait_s=timeout_s)
