"""`judge sql`: read-only SQL over the store, as a table, CSV or JSON, in a sandbox.

The connection is read-only and opened with DuckDB's `enable_external_access = false` and
`lock_configuration = true`: no COPY TO, EXPORT, read_csv of other files, ATTACH, INSTALL/LOAD or
SET. While a run is committing a batch, the query waits politely (JUDGE_DB_LOCK_WAIT_S).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from judge.cli.options import DbOption
from judge.errors import UserInputError


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, bytes):
        return v.hex()
    return v


def run_query(db: Path | None, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run user SQL in a sandbox: read-only, and no file, extension or setting outside the database."""
    import duckdb

    from judge.store.db import default_db_path, read_connection

    if not _has_statement(query):
        raise UserInputError("the query is empty (nothing but blanks or comments)", field="QUERY")
    path = default_db_path(db)
    with read_connection(path, sandbox=True, on_wait=_tell) as con:
        try:
            cur = con.execute(query)
            cols = [d[0] for d in cur.description or []]
            rows = cur.fetchall() if cols else []
        except duckdb.Error as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            if isinstance(e, duckdb.PermissionException) or "configuration has been locked" in first:
                first = f"refused: judge sql reads the database only (no files, extensions or settings): {first}"
            raise UserInputError(f"query failed: {first}", field="QUERY") from None
    return cols, rows


def _has_statement(query: str) -> bool:
    """False for a query of only whitespace, `--` comments, `/* */` comments and semicolons."""
    import re

    stripped = re.sub(r"/\*.*?(\*/|$)", " ", query, flags=re.S)
    stripped = re.sub(r"--[^\n]*", " ", stripped)
    return bool(stripped.replace(";", " ").strip())


def _tell(message: str) -> None:
    print(f"judge: {message}", file=sys.stderr, flush=True)


def print_rows(cols: list[str], rows: list[tuple[Any, ...]], fmt: Format) -> None:
    if fmt is Format.csv:
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
    elif fmt is Format.json:
        print(
            json.dumps(
                [{c: _jsonable(v) for c, v in zip(cols, r, strict=True)} for r in rows], ensure_ascii=False, indent=1
            )
        )
    else:
        table = Table(show_lines=False)
        for c in cols:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*["NULL" if v is None else str(v) for v in r])
        Console().print(table)
        Console(stderr=True).print(f"{len(rows)} row(s)")


def register(app: typer.Typer) -> None:
    @app.command()
    def sql(
        query: Annotated[str | None, typer.Argument(help="SQL to run (read-only).")] = None,
        db: DbOption = None,
        file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the query from a file.")] = None,
        fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    ) -> None:
        """Run a read-only SQL query over prompts, responses, verdicts and model calls."""
        if (query is None) == (file is None):
            raise UserInputError("give a QUERY or --file, not both and not neither", field="QUERY")
        if file is not None:
            try:
                query = file.read_text(encoding="utf-8")
            except OSError as e:
                raise UserInputError(f"cannot read query file: {e.strerror}", file=file) from None
        assert query is not None
        cols, rows = run_query(db, query)
        print_rows(cols, rows, fmt)
