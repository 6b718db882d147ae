"""Options shared by commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $JUDGE_DB, else runs/judge.duckdb).", show_default=False),
]
