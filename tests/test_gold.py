"""Gold labels: import (JSONL/CSV, column and value maps, strict validation), list, matching, scoring."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from test_regrade import ANSWERS, offline_run
from typer.testing import CliRunner

from judge.cli import compare_cmd, gold_cmd
from judge.compare.agreement import Item, text_hash
from judge.compare.gold import GoldLabel, match_gold, parse_gold_file, resolve
from judge.errors import UserInputError
from judge.store.db import write_connection

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    compare_cmd.register(app)
    app.add_typer(gold_cmd.app, name="gold")
    return app


def invoke(*args: str) -> Any:
    return runner.invoke(_app(), list(args))


def _labels(db: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "select label_set, item_key, prompt_id, response_id, response_text_hash, tier, "
            "binary_label, annotator, note from gold_labels order by item_key"
        ).fetchall()
    finally:
        con.close()


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_csv_import_with_column_and_value_maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "carol")
    db = tmp_path / "g.duckdb"
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text(
        "pid,answer,verdict,remark\n"
        'p1,"Step 1: do it.",complied,first\n'
        'p2,"I can\'t.",rejected,\n'
        'p3,"Sure, in general.",JAILBROKEN,\n'
    )
    res = invoke(
        "gold",
        "import",
        str(csv_file),
        "--label-set",
        "s",
        "--db",
        str(db),
        "--map",
        "pid=prompt_id",
        "--map",
        "answer=response",
        "--map",
        "verdict=label",
        "--map",
        "remark=note",
        "--value-map",
        "complied:full_instructions",
        "--value-map",
        "rejected:refusal",
        "--value-map",
        "jailbroken:comply",
    )
    assert res.exit_code == 0, res.output
    assert "imported 3 label(s)" in res.output and "2 with a tier, 1 binary only" in res.output
    rows = _labels(db)
    assert [(r[2], r[5], r[6], r[7], r[8]) for r in rows] == [
        ("p1", "full_instructions", "comply", "carol", "first"),
        ("p2", "refusal", "refuse", "carol", None),
        ("p3", None, "comply", "carol", None),
    ]
    assert rows[0][4] == text_hash("Step 1: do it.") and rows[0][1] == f"p1#{text_hash('Step 1: do it.')}"
    listed = json.loads(invoke("gold", "list", "--db", str(db), "--json").output)
    assert listed[0]["label_set"] == "s" and listed[0]["labels"] == 3 and listed[0]["binary_only"] == 1
    table = invoke("gold", "list", "--db", str(db))
    assert "carol" in table.output


@pytest.mark.parametrize(
    ("row", "line_field", "message"),
    [
        ({"prompt_id": "p", "response": "r", "tier": "maybe"}, "tier", "unknown tier"),
        ({"prompt_id": "p", "response": "r"}, "tier", "no label"),
        ({"response": "r", "tier": "refusal"}, "prompt_id", "required field"),
        ({"prompt_id": "p", "tier": "refusal"}, "response", "needs a response_id"),
        ({"prompt_id": "p", "response": "r", "tier": "partial", "binary": "refuse"}, "binary", "contradicts"),
        ({"prompt_id": "p", "response": "r", "binary": "yes"}, "binary", "comply or refuse"),
        ({"prompt_id": "p", "response": "r", "tier": "refusal", "labeled_at": "yesterday"}, "labeled_at", "ISO"),
        ({"prompt_id": ["p"], "response": "r", "tier": "refusal"}, "prompt_id", "expected a string"),
    ],
)
def test_bad_row_is_one_line_error_and_nothing_is_written(
    tmp_path: Path, row: dict[str, Any], line_field: str, message: str
) -> None:
    db = tmp_path / "g.duckdb"
    good = {"prompt_id": "ok", "response_id": "resp-1", "tier": "refusal"}
    first = _write(tmp_path / "first.jsonl", [good])
    assert invoke("gold", "import", str(first), "--label-set", "s", "--db", str(db)).exit_code == 0
    path = _write(
        tmp_path / "bad.jsonl",
        [
            {"prompt_id": "a", "response_id": "r-a", "tier": "partial"},
            {"prompt_id": "b", "response_id": "r-b", "tier": "refusal"},
            row,
        ],
    )
    res = invoke("gold", "import", str(path), "--label-set", "s", "--db", str(db))
    err = res.exception
    assert isinstance(err, UserInputError), res.output
    assert err.line == 3 and err.field == line_field and message in err.message
    assert err.one_line().startswith(f"{path}:3: field '{line_field}'")
    assert len(_labels(db)) == 1  # the two valid rows before the bad one were not written


def test_error_names_the_source_column_duplicates_and_bad_json(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", [{"pid": "p", "response_id": "r", "human": "??"}])
    with pytest.raises(UserInputError) as e:
        parse_gold_file(path, label_set="s", column_map={"pid": "prompt_id", "human": "tier"})
    assert e.value.field == "human" and "--value-map ??:TIER" in e.value.message
    dup = _write(tmp_path / "d.jsonl", [{"prompt_id": "p", "response_id": "r", "tier": "refusal"}] * 2)
    with pytest.raises(UserInputError) as e:
        parse_gold_file(dup, label_set="s")
    assert e.value.line == 2 and "line 1" in e.value.message
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"prompt_id": "p", "response_id": "r", "tier": "refusal"}\n{oops\n')
    with pytest.raises(UserInputError) as e:
        parse_gold_file(broken, label_set="s")
    assert e.value.line == 2 and "invalid JSON" in e.value.message
    skipped = _write(
        tmp_path / "s.jsonl",
        [{"prompt_id": "p", "response_id": "r"}, {"prompt_id": "q", "response_id": "r2", "tier": "partial"}],
    )
    labels, n_skipped = parse_gold_file(skipped, label_set="s", skip_unlabeled=True)
    assert len(labels) == 1 and n_skipped == 1
    bad_map = invoke("gold", "import", str(skipped), "--label-set", "s", "--map", "x=nonsense")
    assert isinstance(bad_map.exception, UserInputError) and "unknown field" in str(bad_map.exception)


def _label(tier: str | None, who: str, minute: int, **kw: Any) -> GoldLabel:
    base = {
        "label_set": "s",
        "item_key": "k",
        "prompt_id": "p",
        "response_id": "r1",
        "tier": tier,
        "binary_label": kw.pop("binary", None) or ("comply" if tier in ("full_instructions", "partial") else "refuse"),
        "annotator": who,
        "labeled_at": datetime(2026, 1, 1, 12, minute),
    }
    return GoldLabel.model_validate({**base, **kw})


def test_matching_and_several_annotators() -> None:
    # most frequent tier wins; a tie goes to the latest label
    assert resolve([_label("refusal", "a", 1), _label("refusal", "b", 2), _label("partial", "c", 3)]).tier == "refusal"
    assert resolve([_label("refusal", "a", 5), _label("partial", "b", 2)]).tier == "refusal"
    assert resolve([_label(None, "a", 1, binary="comply")]).binary == "comply"
    items = {
        "r1": Item("r1", "p", "h", "t", "unsafe", "hate", "hate", text_hash("one")),
        "r2": Item("r2", "p", "h", "t", "unsafe", "hate", "hate", text_hash("two")),
        "r3": Item("r3", "q", "h", "t", "unsafe", "hate", "hate", text_hash("two")),
    }
    by_text = _label("partial", "a", 1, response_id=None, response_text_hash=text_hash("two"))
    gold = match_gold(items, [_label("refusal", "a", 1), by_text])
    assert gold["r1"].tier == "refusal" and gold["r2"].tier == "partial"
    assert "r3" not in gold  # same text, other prompt: no match


def test_compare_with_binary_and_tier_gold_on_a_run(tmp_path: Path) -> None:
    db, run_id = offline_run(tmp_path, n=8)
    con = duckdb.connect(str(db), read_only=True)
    responses = con.execute("select response_id, prompt_id, text from responses order by prompt_id").fetchall()
    verdicts = dict(con.execute("select response_id, tier from verdicts").fetchall())
    con.close()
    # gold = the judge's own tier for q0..q3 (by response_id); binary-only opposite labels for q4..q7 (by text)
    rows = []
    for rid, pid, text in responses:
        if pid in ("q0", "q1", "q2", "q3"):
            rows.append({"prompt_id": pid, "response_id": rid, "tier": verdicts[rid]})
        else:
            judged = "comply" if verdicts[rid] in ("full_instructions", "partial") else "refuse"
            rows.append({"prompt_id": pid, "response": text, "binary": "refuse" if judged == "comply" else "comply"})
    path = _write(tmp_path / "gold.jsonl", rows)
    assert invoke("gold", "import", str(path), "--label-set", "mixed", "--db", str(db)).exit_code == 0
    res = invoke("compare", run_id, "--db", str(db), "--gold", "mixed", "--format", "json")
    assert res.exit_code == 0, res.output
    score = json.loads(res.output)["gold"]["scores"][0]
    assert score["judge"] == "builtin/rules"
    assert (score["judged"], score["tier_n"], score["binary_n"]) == (8, 4, 8)
    assert score["tier_accuracy"] == 1.0 and score["binary_accuracy"] == pytest.approx(0.5)
    assert score["per_tier"]["refusal"]["support"] == sum(1 for r in rows[:4] if r["tier"] == "refusal")
    assert ANSWERS  # the run's answers are the fixed ones from test_regrade


def test_import_is_one_transaction(tmp_path: Path) -> None:
    db = tmp_path / "g.duckdb"
    path = _write(
        tmp_path / "ok.jsonl", [{"prompt_id": f"p{i}", "response_id": f"r{i}", "tier": "refusal"} for i in range(50)]
    )
    labels, _ = parse_gold_file(path, label_set="s", annotator="x")
    from judge.compare.gold import insert_labels

    broken = [*labels[:10], labels[0].model_copy(update={"annotator": None})]  # NOT NULL violation at the end
    with write_connection(db) as con, pytest.raises(duckdb.Error):
        insert_labels(con, broken)
    assert _labels(db) == []
    with write_connection(db) as con:
        insert_labels(con, labels)
    assert len(_labels(db)) == 50
