"""The gold_labels table: writing a set of labels in one transaction, and reading label sets back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from judge.store.db import fetch
from judge.store.rows import GoldLabelRow, insert_rows

# label_set_summaries' keys, in order
LABEL_SET_SUMMARY = (
    "label_set",
    "labels",
    "with_tier",
    "binary_only",
    "annotators",
    "first_labeled",
    "last_labeled",
    "sources",
)


def has_gold_table(con: duckdb.DuckDBPyConnection) -> bool:
    """False on a database not yet migrated to the gold_labels schema (opened read-only)."""
    return bool(fetch(con, "SELECT 1 FROM duckdb_tables() WHERE table_name = 'gold_labels'"))


def insert_gold_labels(con: duckdb.DuckDBPyConnection, rows: Sequence[GoldLabelRow]) -> None:
    """All rows in one transaction (a label for the same item and annotator is replaced)."""
    con.execute("BEGIN TRANSACTION")
    try:
        insert_rows(con, GoldLabelRow.TABLE, [r.as_row() for r in rows])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def gold_label_rows(con: duckdb.DuckDBPyConnection, label_set: str) -> list[dict[str, Any]]:
    """The labels of one set as {column: value} (GoldLabelRow's columns), oldest first; none before migration."""
    if not has_gold_table(con):
        return []
    cols = GoldLabelRow.columns()
    rows = fetch(con, f"SELECT {', '.join(cols)} FROM gold_labels WHERE label_set = ? ORDER BY labeled_at", [label_set])
    return [dict(zip(cols, r, strict=True)) for r in rows]


def label_set_summaries(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """One dict per stored label set (keys LABEL_SET_SUMMARY), by name; none before migration."""
    if not has_gold_table(con):
        return []
    rows = fetch(
        con,
        """SELECT label_set, count(*), count(tier), count(*) - count(tier),
                  string_agg(DISTINCT annotator, ', ' ORDER BY annotator),
                  min(labeled_at), max(labeled_at),
                  string_agg(DISTINCT source_file, ', ' ORDER BY source_file)
           FROM gold_labels GROUP BY label_set ORDER BY label_set""",
    )
    return [dict(zip(LABEL_SET_SUMMARY, r, strict=True)) for r in rows]


def labeled_item_keys(con: duckdb.DuckDBPyConnection, label_set: str, annotator: str) -> set[str]:
    """Item keys this annotator has already labelled in the set (a labelling session resumes after them)."""
    rows = fetch(con, "SELECT item_key FROM gold_labels WHERE label_set = ? AND annotator = ?", [label_set, annotator])
    return {str(r[0]) for r in rows}
