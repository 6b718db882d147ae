"""Typed rows (judge/store/rows.py) against the migrations: every column has a field and vice versa."""

from __future__ import annotations

import duckdb
import pytest

from judge.store.migrations import migrate
from judge.store.rows import ROW_TYPES, VerdictRow
from judge.store.writer import TABLES


def _table_columns() -> dict[str, list[str]]:
    con = duckdb.connect()
    migrate(con)
    out: dict[str, list[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal AND schema_name = 'main' "
        "AND table_name IN (SELECT table_name FROM duckdb_tables()) ORDER BY table_name, column_index"
    ).fetchall():
        out.setdefault(table, []).append(column)
    out.pop("schema_migrations")  # the migrator's own bookkeeping
    return out


def test_every_table_has_a_row_type_with_exactly_its_columns() -> None:
    tables = _table_columns()
    assert sorted(ROW_TYPES) == sorted(tables), "a table without a row type in judge/store/rows.py (or vice versa)"
    for table, columns in tables.items():
        fields = ROW_TYPES[table].columns()
        assert sorted(fields) == sorted(columns), f"{table}: fields {sorted(set(fields) ^ set(columns))} differ"


def test_the_writer_knows_every_table() -> None:
    assert set(TABLES) <= set(ROW_TYPES)


def test_a_misspelt_column_fails_at_the_producer() -> None:
    with pytest.raises(TypeError):
        VerdictRow(judge_prompt="x")  # type: ignore[call-arg]


def test_a_rows_values_are_its_fields_in_column_order() -> None:
    """values() reads the instance's __dict__: a dataclass sets its fields in declaration order."""
    for cls in ROW_TYPES.values():
        columns = cls.columns()
        row = cls(*[f"value of {c}" for c in columns])
        assert row.values() == tuple(f"value of {c}" for c in columns), cls.__name__
        by_name = cls(**{c: i for i, c in reversed(list(enumerate(columns)))})  # keywords in another order
        assert by_name.values() == tuple(range(len(columns))), cls.__name__
