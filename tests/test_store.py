from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from judge.store.db import ensure_database
from judge.store.migrations import MIGRATIONS, latest_version, migrate
from judge.store.writer import StoreWriter


def test_migrations_recorded_and_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    ensure_database(db)
    ensure_database(db)
    con = duckdb.connect(str(db))
    versions = [r[0] for r in con.execute("select version from schema_migrations order by 1").fetchall()]
    assert versions == [m.version for m in MIGRATIONS]
    assert migrate(con) == []
    assert latest_version() == versions[-1]
    con.close()


def _call(i: int) -> dict[str, object]:
    return {
        "call_id": f"c{i}",
        "run_id": "r",
        "stage": "generate",
        "model": "m",
        "model_key": "k",
        "item_id": f"i{i}",
        "attempt": 1,
        "status": "ok",
        "http_status": 200,
        "error_kind": None,
        "error_message": None,
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "cost_usd": 0.0,
        "latency_ms": 1.0,
        "started_at": datetime(2026, 1, 1, 0, 0, i),
    }


def test_journal_replays_unflushed_rows_after_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    w = StoreWriter(db, flush_every_n=10_000, flush_every_s=3600).open()
    for i in range(5):
        w.add("model_calls", _call(i))
    # simulate kill -9: no flush, no close; a torn last line is in the journal too
    journal = db.with_name(db.name + ".journal")
    with journal.open("a") as fh:
        fh.write('{"t": "model_calls", "r": {"call_id": "c9"')
    w._lock.release()  # the kernel releases flock when a process dies

    w2 = StoreWriter(db).open()
    w2.close()
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("select call_id, started_at from model_calls order by 1").fetchall()
    con.close()
    assert [r[0] for r in rows] == [f"c{i}" for i in range(5)]
    assert rows[0][1] == datetime(2026, 1, 1, 0, 0, 0)
    assert not journal.exists() or journal.read_text() == ""


def test_writes_are_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with StoreWriter(db) as w:
        for _ in range(3):
            for i in range(4):
                w.add("model_calls", _call(i))
            w.flush()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from model_calls").fetchall()[0][0] == 4
    con.close()


def test_second_writer_is_refused_with_one_line(tmp_path: Path) -> None:
    import pytest

    from judge.errors import UserInputError

    db = tmp_path / "x.duckdb"
    with StoreWriter(db), pytest.raises(UserInputError, match="another judge process"):
        StoreWriter(db).open()


def test_last_row_for_a_key_wins_within_one_batch(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    base = {
        "run_id": "r",
        "prompt_hash": "h",
        "prompt_id": "p",
        "target_key": "k",
        "target": "t",
        "finish_reason": None,
        "error_message": None,
        "attempts": 1,
        "prompt_tokens": None,
        "completion_tokens": None,
        "cost_usd": None,
        "latency_ms": 1.0,
        "reused_from": None,
        "created_at": datetime(2026, 1, 1),
    }
    with StoreWriter(db) as w:
        w.add("responses", {**base, "response_id": "r1", "status": "error", "text": None, "error_kind": "timeout"})
        w.add("responses", {**base, "response_id": "r1", "status": "ok", "text": "hello", "error_kind": None})
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select status, text, error_kind from responses").fetchall() == [("ok", "hello", None)]
    con.close()
