"""The journal's files of arrays: typed rows written as their values, read back exactly, in order, on replay."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from store_helpers import db_rows as _rows
from store_helpers import die as _die

from judge.store.journal import _dumps, encode_row
from judge.store.rows import ModelCallRow, ResponseRow, VerdictRow
from judge.store.writer import StoreWriter

TEXTS = ['quote " backslash \\ tab \t newline \n', "é 😀 中文", "nul \x00 byte", "x" * 100_000, "", "null", "[1, 2]"]


def _response(i: int, text: str | None) -> ResponseRow:
    return ResponseRow(
        f"r{i}", "run", "h", "p", "tk", "t", "ok", text, "stop", None, None, 1, 10, 20, 0.000123, 181.5,
        datetime(2026, 1, 2, 3, 4, 5, 678901 + i), None,
    )  # fmt: skip


def _verdict(vid: str, tier: str, cascade: str | None = None) -> VerdictRow:
    return VerdictRow(
        vid, "run", "r0", "jk", "j", "rv", "ck", "ok", tier, 0.875, 'rationale "quoted"\nline 2', '{"tier": "x"}',
        None, None, 2, None, 5, None, 12.25, None, datetime(2026, 1, 1, 0, 0, 0, 1), "judge-a", cascade,
    )  # fmt: skip


def test_a_tuple_of_values_is_encoded_as_json_dumps_encodes_the_list() -> None:
    values = _verdict("v", "partial", '{"stages": []}').values()
    assert json.loads(encode_row(values)) == json.loads(_dumps(list(values)))
    assert json.loads(encode_row(values))[20] == "2026-01-01T00:00:00.000001"


def test_typed_rows_survive_the_values_journal_exactly(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    cascade = json.dumps({"stages": [{"stage": "builtin/judge", "tier": "refusal"}], "audit": True})
    with StoreWriter(db) as w:
        for i, text in enumerate([*TEXTS, None]):
            w.add_row(_response(i, text))
        w.add_row(_verdict("v1", "partial", cascade))
        w.add_row(ModelCallRow("c1", "run", "judge", "m", "mk", "v1", 1, "ok", 200, None, None, 3, 4, 1e-7, 9.5,
                               datetime(2026, 1, 1, 12, 0, 0, 999999)))  # fmt: skip
    stored = _rows(db, "select * from responses order by created_at")
    assert stored == [_response(i, text).values() for i, text in enumerate([*TEXTS, None])]
    (verdict,) = _rows(db, "select * exclude (cascade), cascade::varchar from verdicts")
    expected = _verdict("v1", "partial").values()[:-1]
    assert verdict[:-1] == expected and json.loads(str(verdict[-1])) == json.loads(cascade)
    assert _rows(db, "select * from model_calls") == [
        ("c1", "run", "judge", "m", "mk", "v1", 1, "ok", 200, None, None, 3, 4, 1e-7, 9.5,
         datetime(2026, 1, 1, 12, 0, 0, 999999))
    ]  # fmt: skip


def test_a_killed_writers_values_are_replayed_and_a_torn_last_line_ignored(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    w = StoreWriter(db, flush_every_n=10_000, flush_every_s=3600).open()
    w.bind_run("run")
    for i in range(5):
        w.add_row(_verdict(f"v{i}", "refusal"))
    w.add_row(_verdict("v0", "full_instructions"))  # the same key later in the file: the last one wins
    pending = w.pending_rows("verdicts")  # uncommitted typed rows read back as objects of JSON values
    assert [(p["verdict_id"], p["tier"]) for p in pending][-2:] == [("v4", "refusal"), ("v0", "full_instructions")]
    assert pending[0]["created_at"] == "2026-01-01T00:00:00.000001" and pending[0]["confidence"] == 0.875
    (values_file,) = w.journal_path.glob("*.verdicts.values.jsonl")
    with values_file.open("a") as fh:
        fh.write('["v9", "run", "r0"')  # the torn last line of a killed process
    _die(w)
    with StoreWriter(db) as w2:
        assert w2.rows_replayed == 6 + 1  # six verdict lines and the token's binding to the run
    assert _rows(db, "select verdict_id, tier from verdicts order by 1") == [
        ("v0", "full_instructions"),
        *[(f"v{i}", "refusal") for i in range(1, 5)],
    ]


def test_rows_given_as_dicts_and_as_typed_rows_keep_their_order(tmp_path: Path) -> None:
    """A segment holds one kind of file per table, so whichever came last for a key wins."""
    db = tmp_path / "x.duckdb"
    with StoreWriter(db, flush_every_s=3600) as w:
        w.add_row(_verdict("a", "refusal"))
        w.add("verdicts", {**_verdict("a", "partial").as_row()})  # after a typed row: a new segment
        w.add_row(_verdict("b", "refusal"))
        w.add("verdicts", {**_verdict("c", "refusal").as_row()})
        w.add_row(_verdict("c", "full_instructions"))  # after dict rows in this segment: written as one
    assert _rows(db, "select verdict_id, tier from verdicts order by 1") == [
        ("a", "partial"),
        ("b", "refusal"),
        ("c", "full_instructions"),
    ]


def test_a_values_file_without_its_column_list_is_refused_and_kept_aside(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    w = StoreWriter(db, flush_every_s=3600).open()
    w.bind_run("run")
    w.add_row(_verdict("v1", "refusal"))
    head = next(w.journal_path.glob("*.head"))
    header = json.loads(head.read_text())
    _die(w)
    del header["values"]["verdicts"]
    head.write_text(json.dumps(header))
    messages: list[str] = []
    with StoreWriter(db, notify=messages.append):
        pass
    assert _rows(db, "select count(*) from verdicts") == [(0,)]
    assert any("no column list for its verdicts values" in m and "kept aside" in m for m in messages)
    kept = [p.name for folder in tmp_path.glob("x.duckdb.journal.refused-*") for p in folder.iterdir()]
    assert sorted(kept) == ["000001.head", "000001.journal_tokens.jsonl", "000001.verdicts.values.jsonl"]
