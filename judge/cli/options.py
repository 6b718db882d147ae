"""Options and arguments shared by commands (typer annotations only: nothing heavy is imported here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $JUDGE_DB, else runs/judge.duckdb).", show_default=False),
]
RunArg = Annotated[str, typer.Argument(help="Run id, unique id prefix, `latest` or `latest:NAME`.")]


def split_list(value: str | None) -> list[str] | None:
    """'a, b,,c' -> ['a', 'b', 'c']; None or only commas -> None."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None
