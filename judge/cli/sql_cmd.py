"""`judge sql`: read-only SQL over the store, as a table, CSV or JSON, in a sandbox (judge.store.user_sql).

While a run is committing a batch, the query waits politely (JUDGE_DB_LOCK_WAIT_S) and says so on stderr.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from judge.cli.options import DbOption


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


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
    from judge.store.user_sql import run_user_query

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
    cols, rows = run_user_query(db, query, origin=file, on_wait=_tell)
    print_rows(cols, rows, fmt.value)


def register(app: typer.Typer) -> None:
    app.command()(sql)
