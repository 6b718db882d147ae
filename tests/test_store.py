"""The store layer: migrations, the journal (crash replay, refusal), the writer thread under a locked database."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from store_helpers import db_rows as _rows
from store_helpers import die as _die

from judge.errors import DatabaseBusy, UserInputError
from judge.store.db import ensure_database, read_connection
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


def _call(i: int, run_id: str = "r") -> dict[str, object]:
    return {
        "call_id": f"c{i}",
        "run_id": run_id,
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
    w.bind_run("r")
    for i in range(5):
        w.add("model_calls", _call(i))
    segment = next(w.journal_path.glob("*.model_calls.jsonl"))
    with segment.open("a") as fh:
        fh.write('{"call_id": "c9", "run_id": "r"')  # the torn last line of a killed process
    _die(w)

    w2 = StoreWriter(db).open()
    assert w2.rows_replayed == 5 + 1  # five calls and the token's binding to the run
    w2.close()
    rows = _rows(db, "select call_id, started_at from model_calls order by 1")
    assert [r[0] for r in rows] == [f"c{i}" for i in range(5)]
    assert rows[0][1] == datetime(2026, 1, 1, 0, 0, 0)
    assert not w2.journal_path.exists()
    # both writers' tokens are closed: neither journal can be replayed again
    assert _rows(db, "select count(*) from journal_tokens where closed_at is null") == [(0,)]


def test_writes_are_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with StoreWriter(db) as w:
        for _ in range(3):
            for i in range(4):
                w.add("model_calls", _call(i))
            assert w.flush()
    assert _rows(db, "select count(*) from model_calls") == [(4,)]


def test_second_writer_is_refused_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with StoreWriter(db), pytest.raises(UserInputError, match="another judge process"):
        StoreWriter(db).open()


def _response(rid: str, status: str, text: str | None, kind: str | None) -> dict[str, object]:
    return {
        "response_id": rid,
        "run_id": "r",
        "prompt_hash": "h",
        "prompt_id": "p",
        "target_key": "k",
        "target": "t",
        "status": status,
        "text": text,
        "finish_reason": None,
        "error_kind": kind,
        "error_message": None,
        "attempts": 1,
        "prompt_tokens": None,
        "completion_tokens": None,
        "cost_usd": None,
        "latency_ms": 1.0,
        "reused_from": None,
        "created_at": datetime(2026, 1, 1),
    }


def test_conflict_rules_replace_keeps_the_last_row_ignore_keeps_the_stored_one(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with StoreWriter(db) as w:
        w.add("responses", _response("r1", "error", None, "timeout"))
        w.add("responses", _response("r1", "ok", "hello", None))  # same batch: the last one wins
        w.add("model_calls", {**_call(1), "status": "first"})
        assert w.flush()
        w.add("model_calls", {**_call(1), "status": "second"})  # ignore: the stored row stays
        w.add("responses", _response("r1", "ok", "hello again", None))  # replace: the new row wins
    assert _rows(db, "select status, text, error_kind from responses") == [("ok", "hello again", None)]
    assert _rows(db, "select status from model_calls") == [("first",)]


def test_a_batch_mixing_new_and_stored_keys_appends_the_new_and_applies_each_rule(tmp_path: Path) -> None:
    """New keys take the plain append, stored keys the conflict rule, in the same commit."""
    db = tmp_path / "x.duckdb"
    with StoreWriter(db) as w:
        for i in range(3):
            w.add("responses", _response(f"r{i}", "error", None, "timeout"))
            w.add("model_calls", {**_call(i), "status": "first"})
        assert w.flush()
        for i in range(1, 5):  # r1, r2 stored (replaced), r3, r4 new; the same for the calls (kept)
            w.add("responses", _response(f"r{i}", "ok", f"text {i}", None))
            w.add("model_calls", {**_call(i), "status": "second"})
    assert _rows(db, "select response_id, status, text from responses order by 1") == [
        ("r0", "error", None),
        *[(f"r{i}", "ok", f"text {i}") for i in range(1, 5)],
    ]
    assert _rows(db, "select status, count(*) from model_calls group by 1 order by 1") == [("first", 3), ("second", 2)]


def _verdict(vid: str, status: str, tier: str | None) -> dict[str, object]:
    return {
        "verdict_id": vid, "run_id": "r", "response_id": "resp", "judge_key": "jk", "judge": "j",
        "rubric_version": "rv", "cache_key": "ck-" + vid, "status": status, "tier": tier, "confidence": None,
        "rationale": None, "raw_output": None, "error_kind": None if tier else "timeout", "error_message": None,
        "attempts": 1, "prompt_tokens": None, "completion_tokens": None, "cost_usd": None, "latency_ms": 1.0,
        "reused_from": None, "created_at": datetime(2026, 1, 1), "decided_by": None, "cascade": None,
    }  # fmt: skip


def test_tables_without_a_key_index_keep_one_row_per_key(tmp_path: Path) -> None:
    """verdicts and model_calls have no primary key (migration 017): the writer keeps their keys unique
    within a batch, across commits and through a replay, each table's rule applied."""
    from judge.store.ingest import TABLES, WRITER_KEYED

    db = tmp_path / "x.duckdb"
    with StoreWriter(db) as w:
        w.add("verdicts", _verdict("v1", "error", None))
        w.add("verdicts", _verdict("v1", "ok", "partial"))  # the same batch: the last one wins
        w.add("verdicts", _verdict("v2", "error", None))
        assert w.flush()
        w.add("verdicts", _verdict("v2", "ok", "refusal"))  # a later commit replaces the stored row
        w.add("verdicts", _verdict("v3", "ok", "refusal"))
        assert w.flush()
        w.add("verdicts", {"verdict_id": "v3", "tier": "partial"})  # a row carrying some columns
    w = StoreWriter(db, flush_every_n=10_000, flush_every_s=3600).open()
    w.bind_run("r")
    w.add("verdicts", _verdict("v2", "ok", "full_instructions"))
    w.add("model_calls", _call(7))
    _die(w)  # killed before committing: the next writer replays both
    with StoreWriter(db) as w2:
        assert w2.rows_replayed >= 2
        w2.add("model_calls", {**_call(7), "status": "again"})  # ignore: the replayed row stays
    assert _rows(db, "select verdict_id, status, tier, error_kind, cache_key from verdicts order by 1") == [
        ("v1", "ok", "partial", None, "ck-v1"),
        ("v2", "ok", "full_instructions", None, "ck-v2"),
        ("v3", "ok", "partial", None, "ck-v3"),
    ]
    assert _rows(db, "select call_id, status from model_calls") == [("c7", "ok")]
    # the two kinds of table are exactly those with and without a primary key in the schema
    keyed = {
        r[0] for r in _rows(db, "select table_name from duckdb_constraints() where constraint_type = 'PRIMARY KEY'")
    }
    assert {t for t in TABLES if t not in keyed} == set(WRITER_KEYED)


def test_the_journal_encoder_writes_the_values_json_dumps_writes() -> None:
    from judge.store.journal import _dumps, encode_row

    rows = [
        {"a": 'é "q" \\ \n', "b": 1.5, "c": None, "d": datetime(2026, 1, 2, 3, 4, 5, 6), "e": True, "f": [1, {"g": 2}]},
        _response("r", "ok", "text", None),
        {"n": 10**20, "t": (1, 2), "s": {"x"}},  # beyond 64 bits: the standard library's encoder writes it
        (1e-7, 1e16, -0.0, 2**63 - 1, datetime(2026, 1, 1), "\u2028 \x00"),
    ]
    for row in rows:
        line = encode_row(row)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert json.loads(line) == json.loads(_dumps(row))
    assert b'"2026-01-02T03:04:05.000006"' in encode_row(rows[0])  # datetimes as isoformat() writes them
    # what JSON cannot hold is replaced, never written as invalid JSON
    assert json.loads(encode_row({"f": float("nan"), "g": float("inf"), "s": "lone \ud800"})) == {
        "f": None,
        "g": None,
        "s": "lone \ufffd",
    }
    assert json.loads(encode_row({"n": 10**20, "f": float("nan")})) == {"n": 10**20, "f": None}


def test_texts_survive_the_journal_exactly(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    texts = ['quote " backslash \\ tab \t newline \n', "é 😀 中文", "nul \x00 byte", "x" * 100_000, ""]
    with StoreWriter(db) as w:
        for i, text in enumerate(texts):
            w.add("responses", _response(f"r{i}", "ok", text, None))
        w.add("responses", _response("lone", "ok", "lone \ud800 surrogate", None))
    stored = dict(_rows(db, "select response_id, text from responses"))  # type: ignore[arg-type]
    assert [stored[f"r{i}"] for i in range(len(texts))] == texts
    assert stored["lone"] == "lone \ufffd surrogate"  # not storable as UTF-8: replaced, not dropped


@contextmanager
def _reader_holding(db: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding a read-only connection (as a notebook or BI tool does)."""
    code = (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
        "print('holding', flush=True)\n"
        f"time.sleep({seconds})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_reader_holding_the_database_delays_commits_but_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    ensure_database(db)
    messages: list[str] = []
    with StoreWriter(db, flush_every_s=0, busy_wait_s=30, notify=messages.append) as w:
        w.bind_run("r")
        with _reader_holding(db, 60) as reader:
            started = time.monotonic()
            for i in range(50):
                w.add("model_calls", _call(i))
                w.maybe_flush()  # hands a batch to the writer thread; never waits for the lock
            assert time.monotonic() - started < 1.0
            assert not w.flush(wait_s=0.3)  # still locked: the rows stay in the journal
            assert len(w.pending_rows("model_calls")) == 50
            assert w.busy_holder == str(reader.pid)  # DuckDB names the holder
            assert any(p.stat().st_size for p in w.journal_path.glob("*.model_calls.jsonl"))
        assert w.flush(wait_s=10)  # the reader is gone: everything is written
        assert w.pending_rows("model_calls") == []
    assert _rows(db, "select count(*) from model_calls") == [(50,)]
    assert not w.journal_path.exists()


def test_a_database_locked_to_the_end_raises_busy_and_keeps_the_journal(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    ensure_database(db)
    messages: list[str] = []
    w = StoreWriter(db, flush_every_s=0, busy_wait_s=1.0, notify=messages.append).open()
    w.bind_run("r")
    with _reader_holding(db, 60) as reader:
        for i in range(20):
            w.add("model_calls", _call(i))
        with pytest.raises(DatabaseBusy, match=rf"pid {reader.pid}.*kept in the journal"):
            w.drain()
        w.close()  # the bug of old: closing after a failed flush must not empty the journal
    assert any("waiting for the database" in m and f"pid {reader.pid}" in m for m in messages)
    assert any(p.stat().st_size for p in w.journal_path.glob("*.model_calls.jsonl"))
    assert _rows(db, "select count(*) from model_calls") == [(0,)]
    w2 = StoreWriter(db).open()  # the next run writes them first
    w2.close()
    assert _rows(db, "select count(*) from model_calls") == [(20,)]
    assert not w2.journal_path.exists()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_forged_journal_file_is_refused_and_kept_aside(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with StoreWriter(db) as w:
        w.add("responses", _response("r1", "ok", "stored", None))
    forged = db.with_name(db.name + ".journal")
    forged.write_text(json.dumps({"t": "responses", "r": _response("r1", "ok", "forged", None)}, default=str) + "\n")
    messages: list[str] = []
    with StoreWriter(db, notify=messages.append):
        pass
    assert _rows(db, "select text from responses") == [("stored",)]
    kept = list(tmp_path.glob("x.duckdb.journal.refused-*"))
    assert len(kept) == 1 and "forged" in kept[0].read_text()
    assert len(messages) == 1 and "refused" in messages[0] and "kept aside" in messages[0]


def test_a_hand_made_segment_for_another_token_or_run_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    w = StoreWriter(db, flush_every_s=3600).open()
    w.bind_run("r")
    w.add("responses", _response("r1", "ok", "stored", None))
    assert w.flush()
    w.add("responses", _response("r2", "ok", "pending", None))
    token = json.loads(next(w.journal_path.glob("*.head")).read_text())["token"]
    _die(w)
    journal = w.journal_path
    # 1. a segment with a made-up token; 2. the real token but rows of another run
    for seq, head, run in (
        (90, {"token": "f" * 48, "run_id": "r"}, "r"),
        (91, {"token": token, "run_id": "r"}, "other"),
    ):
        (journal / f"{seq:06d}.head").write_text(json.dumps({"journal": 2, "pid": 1, **head}))
        row = {**_response("r1", "ok", "forged", None), "run_id": run}
        (journal / f"{seq:06d}.responses.jsonl").write_text(json.dumps(row, default=str) + "\n")
    messages: list[str] = []
    with StoreWriter(db, notify=messages.append):
        pass
    assert sorted(_rows(db, "select response_id, text from responses")) == [("r1", "stored"), ("r2", "pending")]
    refused = [m for m in messages if m.startswith("refused")]
    assert len(refused) == 2
    assert "not issued by this database" in refused[0] and "another run" in refused[1]
    kept = [p.name for folder in tmp_path.glob("x.duckdb.journal.refused-*") for p in folder.iterdir()]
    assert sorted(kept) == ["000090.head", "000090.responses.jsonl", "000091.head", "000091.responses.jsonl"]


@pytest.mark.parametrize("case", ["folder", "not_duckdb", "empty_file", "newer_schema", "foreign_duckdb"])
def test_a_bad_database_path_is_one_line_and_nothing_changes(tmp_path: Path, case: str) -> None:
    db = tmp_path / "x.duckdb"
    if case == "folder":
        db.mkdir()
    elif case in ("not_duckdb", "empty_file"):
        db.write_text("id,text\n1,hello\n" if case == "not_duckdb" else "")
    elif case == "newer_schema":
        ensure_database(db)
        con = duckdb.connect(str(db))
        con.execute("insert into schema_migrations values (999, 'from the future', now()::timestamp)")
        con.close()
    else:
        con = duckdb.connect(str(db))
        con.execute("create table sales (id integer)")
        con.close()
    before = _snapshot(tmp_path)
    expected = {
        "folder": "is a folder",
        "not_duckdb": "not a DuckDB database file",
        "empty_file": "not a DuckDB database file",
        "newer_schema": "newer than this judge",
        "foreign_duckdb": "not a judge database",
    }[case]
    with pytest.raises(UserInputError, match=expected):
        StoreWriter(db).open()
    with pytest.raises(UserInputError, match=expected), read_connection(db):
        pass
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.duckdb"]


def test_ids_hash_the_same_text_as_json_dumps() -> None:
    """Response, verdict and cache ids must never change: the fast path for strings hashes json.dumps' text."""
    import hashlib
    import random

    from judge.store.runs import stable_hash

    def reference(*parts: object) -> str:
        raw = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()[:20]

    alphabet = ["a", '"', "\\", "\n", "\t", "\x00", "\x1f", "é", "中", "😀", " ", "/", "\u2028", "\x7f"]
    rnd = random.Random(7)
    for _ in range(2000):
        parts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 9))) for _ in range(rnd.randint(0, 4))]
        assert stable_hash(*parts) == reference(*parts)
    assert stable_hash("run", 3, None, {"b": 1, "a": [2]}) == reference("run", 3, None, {"b": 1, "a": [2]})
    assert stable_hash("run-1", "resp-1", "judge", "r-1") == "19cad709ccbcefbb46c4"  # as every earlier version
