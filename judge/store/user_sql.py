"""A user's own read-only query over the store (`judge sql`), run in the sandbox: columns and rows, or one line.

The connection is read-only and opened with DuckDB's `enable_external_access = false` and
`lock_configuration = true` (judge.store.db.SANDBOX): no COPY TO, EXPORT, read_csv of other files,
ATTACH, INSTALL/LOAD or SET. While a run is committing a batch, the query waits politely.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from judge.errors import UserInputError
from judge.store.db import default_db_path, read_connection


def run_user_query(
    db: Path | None, query: str, origin: Path | None = None, on_wait: Callable[[str], None] | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one read-only query; an empty or comment-only query is bad input.

    `origin` is the file the query came from (named in errors); `on_wait` hears about a held database.
    """
    path = default_db_path(db)
    with read_connection(path, sandbox=True, on_wait=on_wait) as con:
        try:
            cur = con.execute(query)
            cols = [d[0] for d in cur.description or []] if cur is not None else []
            rows = cur.fetchall() if cols and cur is not None else []
        except duckdb.Error as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            if isinstance(e, duckdb.PermissionException) or "configuration has been locked" in first:
                first = f"refused: judge sql reads the database only (no files, extensions or settings): {first}"
            raise UserInputError(f"query failed: {first}", file=origin, field=None if origin else "QUERY") from None
        if cur is None:
            raise UserInputError(
                "the query is empty (nothing but whitespace or comments)",
                file=origin,
                field=None if origin else "QUERY",
            )
    return cols, rows
