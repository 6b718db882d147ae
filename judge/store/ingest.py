"""Loading journal segment files into DuckDB: one set-based upsert per table, straight from the file.

DuckDB reads the segment's JSON lines itself (`read_json`, in parallel, outside the GIL), so Python
never re-encodes or transposes a row. Each table's conflict rule (`TABLES`) is honoured: "replace"
keeps the last row written for a key (also within one segment), "ignore" keeps the row already
stored (and the first of a segment). Tables with a primary key get an `INSERT … ON CONFLICT`; the
two big tables have none (`WRITER_KEYED`, migration 017: their key indexes were a third of the file
and most of each commit), so their keys are kept unique here: stored keys are found with one hash
join against the table, replaced or skipped, and the rest appended, in the caller's transaction.
Columns are taken by name from the table itself, so schema migrations that add columns need no
change here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

# table -> (primary key columns, what a row with an existing key does); parents before children
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "runs": (("run_id",), "replace"),
    "journal_tokens": (("token_sha256",), "replace"),
    "rubrics": (("rubric_version",), "ignore"),
    "policy_rules": (("rubric_version", "intent", "match_path", "tier"), "ignore"),
    "prompts": (("prompt_hash",), "ignore"),
    "run_prompts": (("run_id", "prompt_hash"), "ignore"),
    "models": (("model_key",), "replace"),
    "run_models": (("run_id", "model_key", "role"), "ignore"),
    "responses": (("response_id",), "replace"),
    "verdicts": (("verdict_id",), "replace"),
    "model_calls": (("call_id",), "ignore"),
    "provider_batches": (("batch_id",), "replace"),
    "imports": (("import_key",), "ignore"),
}

# tables without a primary-key index (migration 017) whose keys this module keeps unique
WRITER_KEYED = frozenset({"verdicts", "model_calls"})
_STAGE = "__judge_stage"

MAX_ROW_BYTES = 1 << 30


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> the type to read it as from JSON (JSON columns arrive as their text)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ? "
        "ORDER BY column_index",
        [table],
    ).fetchall()
    return {str(name): ("VARCHAR" if str(kind) == "JSON" else str(kind)) for name, kind in rows}


def _source(path: Path, types: dict[str, str], values_columns: Sequence[str] | None = None) -> str:
    """A file of JSON objects (`values_columns` None), or of arrays of values in `values_columns` order,
    read as the columns `types` names."""
    if values_columns is not None:
        at = {c: i + 1 for i, c in enumerate(values_columns)}
        arrays = (
            f"read_json({_lit(str(path))}, format = 'newline_delimited', records = false, "
            f"maximum_object_size = {MAX_ROW_BYTES}, columns = {{'j': 'VARCHAR[]'}})"
        )
        return "(SELECT " + ", ".join(f"j[{at[c]}]::{t} AS {_q(c)}" for c, t in types.items()) + f" FROM {arrays})"
    struct = "{" + ", ".join(f"{_lit(c)}: {_lit(t)}" for c, t in types.items()) + "}"
    return (
        f"read_json({_lit(str(path))}, format = 'newline_delimited', records = true, "
        f"maximum_object_size = {MAX_ROW_BYTES}, columns = {struct})"
    )


def load_file(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    columns: set[str] | None,
    *,
    dedupe: bool = True,
    types_cache: dict[str, dict[str, str]] | None = None,
    values_columns: Sequence[str] | None = None,
) -> None:
    """Upsert the rows of one journal file into `table` (in the caller's transaction).

    `columns`: the keys the file's objects use (None: every column of the table); `values_columns`:
    the file holds arrays of values in this column order instead.
    """
    key_cols, rule = TABLES[table]
    all_types = (types_cache or {}).get(table) or table_types(con, table)
    if types_cache is not None:
        types_cache[table] = all_types
    if values_columns is not None:
        columns = set(values_columns)
    elif columns is None:
        columns = set(all_types)
    unknown = sorted(columns - set(all_types))
    if unknown:
        raise ValueError(f"journal rows for {table} have columns the table lacks: {', '.join(unknown)}")
    cols = [c for c in all_types if c in columns]
    types = {c: all_types[c] for c in cols}
    select = ", ".join(_q(c) for c in cols)
    source = _source(path, types, values_columns)
    if dedupe:
        keep = "DESC" if rule == "replace" else "ASC"
        keys = ", ".join(_q(k) for k in key_cols)
        source = (
            f"(SELECT {select} FROM (SELECT *, row_number() OVER () AS __judge_n FROM {source}) "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY __judge_n {keep}) = 1)"
        )
    updates = [c for c in cols if c not in key_cols]
    if table in WRITER_KEYED:
        _load_writer_keyed(con, table, select, source, key_cols, rule, updates, full=len(cols) == len(all_types))
        return
    if rule == "replace" and updates:
        action = "DO UPDATE SET " + ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in updates)
    else:
        action = "DO NOTHING"
    con.execute(
        f"INSERT INTO {_q(table)} ({select}) SELECT {select} FROM {source} "
        f"ON CONFLICT ({', '.join(_q(k) for k in key_cols)}) {action}"
    )


def _load_writer_keyed(
    con: duckdb.DuckDBPyConnection,
    table: str,
    select: str,
    source: str,
    key_cols: tuple[str, ...],
    rule: str,
    updates: list[str],
    *,
    full: bool,
) -> None:
    """Upsert into a table without a key index: the table's rule applied to the keys already stored."""
    keys = ", ".join(_q(k) for k in key_cols)
    if rule != "replace":  # keep what is stored: append only the keys not there (one anti join)
        con.execute(
            f"INSERT INTO {_q(table)} ({select}) SELECT {select} FROM {source} ANTI JOIN {_q(table)} USING ({keys})"
        )
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS SELECT {select} FROM {source}")
    try:
        if full:  # every column is carried: the stored rows with these keys go, the new ones come
            con.execute(f"DELETE FROM {_q(table)} WHERE ({keys}) IN (SELECT ({keys}) FROM {_STAGE})")
            con.execute(f"INSERT INTO {_q(table)} ({select}) SELECT {select} FROM {_STAGE}")
            return
        # rows carrying some columns replace only those in the stored row
        if updates:
            match = " AND ".join(f"{_q(table)}.{_q(k)} = s.{_q(k)}" for k in key_cols)
            sets = ", ".join(f"{_q(c)} = s.{_q(c)}" for c in updates)
            con.execute(f"UPDATE {_q(table)} SET {sets} FROM {_STAGE} AS s WHERE {match}")
        con.execute(
            f"INSERT INTO {_q(table)} ({select}) SELECT {select} FROM {_STAGE} ANTI JOIN {_q(table)} USING ({keys})"
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_STAGE}")


def foreign_run_rows(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, run_id: str, *, values_columns: Sequence[str] | None = None
) -> int:
    """How many rows of a journal file name a run other than `run_id` (for tables with a run_id)."""
    if "run_id" not in table_types(con, table) or (values_columns is not None and "run_id" not in values_columns):
        return 0
    src = _source(path, {"run_id": "VARCHAR"}, values_columns)
    row = con.execute(f"SELECT count(*) FROM {src} WHERE run_id IS DISTINCT FROM ?", [run_id]).fetchone()
    return int(row[0]) if row else 0
