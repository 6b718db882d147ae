"""Helpers for the store's tests: read a database's rows, and leave a writer as kill -9 would."""

from __future__ import annotations

from pathlib import Path

import duckdb

from judge.store.writer import StoreWriter


def db_rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def die(w: StoreWriter) -> None:
    """What kill -9 leaves: no flush, no close; the kernel releases the flock."""
    w._stop_thread()
    w._lock.release()
