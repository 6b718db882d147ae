"""Exporting a run's flat tables as Parquet files (DuckDB COPY; no pyarrow needed)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from judge.errors import UserInputError
from judge.store.db import fetch

EXPORT_TABLES: dict[str, str] = {
    "prompts": "SELECT p.* FROM prompts p JOIN run_prompts rp USING (prompt_hash) WHERE rp.run_id = $run "
    "ORDER BY p.prompt_id",
    "responses": "SELECT * FROM responses WHERE run_id = $run ORDER BY response_id",
    "verdicts": "SELECT * FROM verdicts WHERE run_id = $run ORDER BY verdict_id",
    "scored": "SELECT * FROM scored WHERE run_id = $run ORDER BY response_id, judge",
    "model_calls": "SELECT * FROM calls WHERE run_id = $run ORDER BY started_at, call_id",
    "metrics": "SELECT * FROM metrics WHERE run_id = $run ORDER BY ALL",
}


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def export_parquet(con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path) -> dict[str, int]:
    """Write the run's flat tables as Parquet files in out_dir; returns rows written per table."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserInputError(f"cannot create the export folder: {e.strerror}", file=out_dir) from None
    counts = {}
    for name, query in EXPORT_TABLES.items():
        path = (out_dir / f"{name}.parquet").resolve()
        sql = query.replace("$run", _sql_string(run_id))
        con.execute(f"COPY ({sql}) TO {_sql_string(str(path))} (FORMAT parquet, COMPRESSION zstd)").fetchall()
        counts[name] = int(fetch(con, f"SELECT count(*) FROM read_parquet({_sql_string(str(path))})")[0][0])
    return counts
