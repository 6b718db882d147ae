"""`judge label`: a labelling session driven through standard input; labels saved at once; resumable."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from test_regrade import offline_run
from typer.testing import CliRunner

from judge.cli import compare_cmd
from judge.compare.labeling import LabelItem, choose_sample, load_items
from judge.errors import UserInputError

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    compare_cmd.register(app)
    return app


def label(db: Path, *args: str, input: str) -> Any:
    return runner.invoke(_app(), ["label", "latest", "--db", str(db), *args], input=input)


def _stored(db: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "select response_id, tier, binary_label, annotator, label_set, labeled_at, source_file "
            "from gold_labels order by labeled_at"
        ).fetchall()
    finally:
        con.close()


def _session_order(db: Path, n: int, seed: int = 0) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        run_id = con.execute("select run_id from runs").fetchall()[0][0]
        return [it.response_id for it in choose_sample(load_items(con, run_id), n, seed)]
    finally:
        con.close()


def test_session_through_stdin_saves_each_label_and_resumes(tmp_path: Path) -> None:
    db, run_id = offline_run(tmp_path, n=8)
    order = _session_order(db, 5)
    assert len(order) == 5
    # label 1st (after one bad key), 2nd, skip 3rd, quit at 4th
    res = label(db, "--n", "5", "--annotator", "alice", "--label-set", "s1", input="1\nx\n3\ns\nq\n")
    assert res.exit_code == 0, res.output
    assert "unknown key 'x'" in res.output and "tier? 1=full_instructions" in res.output
    assert "labelled 2, skipped 1, 3 of 5 still to label" in res.output
    rows = _stored(db)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (order[0], "full_instructions", "comply", "alice", "s1"),
        (order[1], "refusal", "refuse", "alice", "s1"),
    ]
    assert rows[0][6] == f"run:{run_id}" and rows[0][5] <= rows[1][5]

    # resume: the two labelled items are skipped; the skipped one comes back; input ends without q
    res = label(db, "--n", "5", "--annotator", "alice", "--label-set", "s1", input="2\n4\n")
    assert res.exit_code == 0, res.output
    assert "Labelling 3 of 5" in res.output and "(2 already labelled)" in res.output
    rows = _stored(db)
    assert [r[0] for r in rows] == order[:4]
    assert [r[1] for r in rows[2:]] == ["partial", "safe_deflection"]
    assert "1 of 5 still to label" in res.output

    # another annotator labels the same sample independently
    res = label(db, "--n", "5", "--annotator", "bob", "--label-set", "s1", input="3\n3\n3\n3\n3\n")
    assert "labelled 5" in res.output
    assert Counter(r[3] for r in _stored(db)) == {"alice": 4, "bob": 5}
    # everything labelled: nothing left to ask
    res = label(db, "--n", "5", "--annotator", "bob", "--label-set", "s1", input="")
    assert "Labelling 0 of 5" in res.output and "0 of 5 still to label" in res.output


def test_label_defaults_to_user_and_shows_text_without_markup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = offline_run(tmp_path, n=3)
    monkeypatch.setenv("USER", "dora")
    res = label(db, "--n", "1", input="4\n")
    assert res.exit_code == 0, res.output
    assert "Question" in res.output  # the prompt panel
    assert _stored(db)[0][3:5] == ("dora", "default")
    res = label(db, "--n", "1", "--label-set", " ", input="")
    assert isinstance(res.exception, UserInputError)


def _item(rid: str, intent: str, l1: str, sev: int) -> LabelItem:
    return LabelItem(rid, "p" + rid, "h", "prompt", "response", intent, l1, l1, "t", sev)


def test_sample_is_stratified_disagreements_first_and_stable() -> None:
    items = [_item(f"s{i}", "safe", "hate", 0) for i in range(10)]
    items += [_item(f"u{i}", "unsafe", "hate", 0) for i in range(10)]
    items += [_item("u-dis", "unsafe", "hate", 5), _item("s-dis", "safe", "hate", 2)]
    sample = choose_sample(items, 6, seed=1)
    assert [it.response_id for it in sample[:2]] == ["u-dis", "s-dis"]  # worst disagreement first
    assert Counter(it.intent for it in sample) == {"safe": 3, "unsafe": 3}
    assert [it.response_id for it in choose_sample(items, 6, seed=1)] == [it.response_id for it in sample]
    assert {it.response_id for it in choose_sample(items, 6, seed=2)} != {it.response_id for it in sample}
    assert len(choose_sample(items, 100, seed=0)) == len(items)
