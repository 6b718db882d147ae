"""`judge sql`: read-only SQL over the store, as a table, CSV or JSON, in a sandbox.

The connection is read-only and opened with DuckDB's `enable_external_access = false` and
`lock_configuration = true`: no COPY TO, EXPORT, read_csv of other files, ATTACH, INSTALL/LOAD or
SET. While a run is committing a batch, the query waits politely (JUDGE_DB_LOCK_WAIT_S).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from judge.cli.options import DbOption


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def run_query(db: Path | None, query: str, origin: Path | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one read-only query; an empty or comment-only query is bad input.

    `origin` is the file the query came from (named in errors).
    """
    import duckdb

    from judge.errors import UserInputError
    from judge.store.db import default_db_path, read_connection

    path = default_db_path(db)
    with read_connection(path, sandbox=True, on_wait=_tell) as con:
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


def _tell(message: str) -> None:
    import sys

    print(f"judge: {message}", file=sys.stderr, flush=True)


def sql(
    query: Annotated[str | None, typer.Argument(help="SQL to run (read-only).")] = None,
    db: DbOption = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the query from a file.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Run a read-only SQL query over prompts, responses, verdicts and model calls."""
    from judge.cli.tabular import print_rows
    from judge.errors import UserInputError

    if (query is None) == (file is None):
        raise UserInputError("give a QUERY or --file, not both and not neither", field="QUERY")
    if file is not None:
        try:
            query = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
            raise UserInputError(f"cannot read query file: {why}", file=file) from None
    assert query is not None
    if not query.strip():
        raise UserInputError("the query is empty", file=file, field=None if file else "QUERY")
    cols, rows = run_query(db, query, origin=file)
    print_rows(cols, rows, fmt.value)


def register(app: typer.Typer) -> None:
    app.command()(sql)
