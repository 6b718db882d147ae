"""`judge sql`: read-only SQL over the store, as a table, CSV or JSON."""

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
    import duckdb

    from judge.store.db import default_db_path, read_connection

    path = default_db_path(db)
    with read_connection(path) as con:
        try:
            cur = con.execute(query)
            cols = [d[0] for d in cur.description or []]
            rows = cur.fetchall() if cols else []
        except duckdb.Error as e:
            raise UserInputError(f"query failed: {str(e).splitlines()[0]}", field="QUERY") from None
    return cols, rows


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
