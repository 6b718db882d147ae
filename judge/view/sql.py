"""Running a query with positional or named parameters and fetching every row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb


def fetch_all(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Every row of a query (duckdb 2 keeps a result pending until fully fetched)."""
    return con.execute(sql, params if params is not None else []).fetchall()
