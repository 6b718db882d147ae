"""Printing query results: CSV, JSON, or a literal table that stacks into one block per row when too wide."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
from collections.abc import Sequence
from typing import Any

from judge.cli.output import Col, cell, console, table

NULL = "NULL"


def jsonable(v: Any) -> Any:
    """A JSON-friendly form of a DuckDB value (dates as ISO text, decimals as floats, bytes as hex)."""
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, bytes):
        return v.hex()
    return v


def print_rows(cols: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> None:
    """Rows as csv, json or table (on stdout; the row count of a table goes to stderr)."""
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
    elif fmt == "json":
        records = [{c: jsonable(v) for c, v in zip(cols, r, strict=True)} for r in rows]
        print(json.dumps(records, ensure_ascii=False, indent=1, default=str))
    else:
        print_table(cols, rows)
        console(stderr=True).print(f"{len(rows)} row(s)")


def _text(v: Any) -> str:
    return NULL if v is None else str(v)


def print_table(cols: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table when the headers fit the terminal; otherwise one `column  value` block per row (like psql \\x)."""
    from rich.table import Table

    out = console()
    if sum(min(len(c), 12) + 2 for c in cols) <= out.width:
        out.print(table([Col(c) for c in cols], [[_text(v) for v in r] for r in rows]))
        return
    name_width = min(max((len(c) for c in cols), default=1), 24)
    for n, r in enumerate(rows, start=1):
        out.print(f"-[ row {n} ]-")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(min_width=name_width, max_width=name_width, overflow="fold")
        grid.add_column(overflow="fold")
        for c, v in zip(cols, r, strict=True):
            grid.add_row(cell(c), cell(_text(v)))
        out.print(grid)
