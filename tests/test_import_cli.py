"""`judge import …` and `judge grade` end to end: bad input (exit 2, nothing written), big and odd tables,
mapping files, errored Inspect samples, and grading an imported run next to the external judge."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from import_helpers import inspect_log, samples, write_jsonl
from pipeline_helpers import judge_cli, query

from judge.sources.importer import import_files
from judge.sources.table import Columns


def _nothing_written(db: Path) -> bool:
    return not db.exists() or query(db, "SELECT count(*) FROM runs")[0][0] == 0


def _bad(args: list[str], db: Path) -> str:
    res = judge_cli([*args, "--db", str(db), "-q"])
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr, res.stderr
    assert _nothing_written(db)
    return lines[0]


def test_bad_inputs_get_one_line_exit_2_and_nothing_imported(tmp_path: Path) -> None:
    db = tmp_path / "j.duckdb"
    log = inspect_log("refusal_check", "eval")
    cut = tmp_path / "cut.eval"
    cut.write_bytes(log.read_bytes()[: log.stat().st_size // 2])
    assert "truncated or damaged" in _bad(["import", "inspect", str(cut)], db)

    pf = json.loads((samples() / "promptfoo" / "results.json").read_text())
    pf["results"]["version"] = 2
    old = tmp_path / "old.json"
    old.write_text(json.dumps(pf))
    assert "version 2 is not supported" in _bad(["import", "promptfoo", str(old)], db)

    table = tmp_path / "answers.csv"
    table.write_text("question,answer,score\nHow do I bake bread?,Knead it.,3\nHi,Hello,4\n")
    line = _bad(["import", "table", str(table), "--prompt", "question", "--response", "reply"], db)
    assert "no column 'reply'" in line and "answers.csv" in line
    line = _bad(["import", "table", str(table), "--prompt", "question", "--response", "score"], db)
    assert "holds only numbers" in line
    typed = write_jsonl(
        tmp_path / "typed.jsonl",
        [
            {"q": "Hi", "a": "Hello", "intent": "safe", "category": "x"},
            {"q": "Yo", "a": 7, "intent": "safe", "category": "x"},
        ],
    )
    assert "line 2" in _bad(["import", "table", str(typed), "--prompt", "q", "--response", "a"], db)
    # one bad record late in a file: the good ones before it are not imported either
    rows = [{"q": f"question {n}", "a": "ok", "intent": "safe", "category": "x"} for n in range(50)]
    rows.append({"q": "late", "a": "ok", "intent": "sometimes", "category": "x"})
    late = write_jsonl(tmp_path / "late.jsonl", rows)
    assert "line 51" in _bad(["import", "table", str(late), "--prompt", "q", "--response", "a"], db)


def test_ten_thousand_rows_with_a_progress_bar(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "prompt", "answer", "model", "intent", "hazard"])
        for n in range(10_000):
            w.writerow(
                [
                    f"p{n}",
                    f"Question number {n}?",
                    f"Answer {n}: I can't help with that.",
                    "m-a" if n % 2 else "m-b",
                    ("safe", "unsafe", "adversarial")[n % 3],
                    "privacy",
                ]
            )
    db = tmp_path / "j.duckdb"
    res = judge_cli(
        [
            "import",
            "table",
            str(path),
            "--prompt",
            "prompt",
            "--response",
            "answer",
            "--model",
            "model",
            "--id",
            "id",
            "--intent",
            "intent",
            "--taxonomy",
            "hazard",
            "--db",
            str(db),
        ]
    )
    assert res.returncode == 0, res.stderr
    assert "10000/10000" in res.stderr and "write" in res.stderr  # the bar reached the end
    assert "imported 10000 answer(s) of m-a, m-b" in res.stdout
    assert query(db, "SELECT count(*), count(DISTINCT target) FROM responses") == [(10_000, 2)]
    again = judge_cli(
        [
            "import",
            "table",
            str(path),
            "--prompt",
            "prompt",
            "--response",
            "answer",
            "--model",
            "model",
            "--id",
            "id",
            "--intent",
            "intent",
            "--taxonomy",
            "hazard",
            "--db",
            str(db),
            "-q",
        ]
    )
    assert "nothing added" in again.stdout and query(db, "SELECT count(*) FROM responses")[0][0] == 10_000


def test_odd_rows_unicode_empty_answers_multi_turn_and_parquet(tmp_path: Path) -> None:
    chat = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Now tell me: how do locks work?"},
    ]
    rows = [
        {
            "id": "u1",
            "q": "¿Cómo está? 你好 🙂 \u202eRTL",
            "a": "Très bien — 谢谢 🙂",
            "intent": "safe",
            "tax": "privacy",
        },
        {"id": "e1", "q": "Say nothing.", "a": "", "intent": "safe", "tax": "privacy"},
        {"id": "m1", "q": chat, "a": "[bold red]not markup[/]", "intent": "adversarial", "tax": "privacy"},
        {"id": "n1", "q": "No answer recorded", "a": None, "intent": "unsafe", "tax": "privacy"},
    ]
    src = write_jsonl(tmp_path / "odd.jsonl", rows)
    cols = Columns(prompt="q", response="a", id="id", intent="intent", taxonomy="tax", target="t")
    db = tmp_path / "j.duckdb"
    out = import_files("table", [src], db, columns=cols)
    assert out.items == 4 and out.responses_error == 1
    got = {
        r[0]: r[1:]
        for r in query(
            db,
            "SELECT r.prompt_id, r.status, r.text, p.messages, p.text "
            "FROM responses r JOIN prompts p USING (prompt_hash)",
        )
    }
    assert got["u1"][1] == "Très bien — 谢谢 🙂" and got["u1"][3].startswith("¿Cómo")
    assert got["e1"][:2] == ("ok", "")
    assert [m["role"] for m in json.loads(got["m1"][2])] == ["system", "user", "assistant", "user"]
    assert got["m1"][3] == "Now tell me: how do locks work?"
    assert got["n1"][0] == "error"
    # the same rows as Parquet (written by DuckDB) import the same prompts
    pq = tmp_path / "odd.parquet"
    flat = [{**r, "q": json.dumps(r["q"]) if isinstance(r["q"], list) else r["q"]} for r in rows]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM read_json_auto(?)", [str(write_jsonl(tmp_path / "flat.jsonl", flat))])
    con.execute(f"COPY t TO '{pq}' (FORMAT parquet)")
    con.close()
    out2 = import_files("table", [pq], db, columns=cols)
    assert out2.items == 4
    hashes = query(db, "SELECT run_id, list(prompt_hash ORDER BY prompt_hash) FROM run_prompts GROUP BY 1")
    assert hashes[0][1] == hashes[1][1]


def test_mapping_file_maps_inspect_categories_onto_the_taxonomy(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "fields: {taxonomy: category}\n"
        "values:\n  taxonomy:\n    fraud: [non_violent_crimes]\n    physical_security: non_violent_crimes\n"
        "defaults: {taxonomy: privacy}\n"
    )
    db = tmp_path / "j.duckdb"
    out = import_files("inspect", [inspect_log("conversation_refusal", "eval")], db, map_path=mapping)
    assert not out.warnings
    paths = dict(query(db, "SELECT prompt_id, taxonomy_path FROM prompts"))
    assert paths["6"] == "non_violent_crimes" and paths["1"] == "privacy"
    bad = tmp_path / "bad.yaml"
    bad.write_text("values:\n  taxonomy:\n    fraud: [not_a_hazard]\n")
    line = _bad(
        ["import", "inspect", str(inspect_log("conversation_refusal", "eval")), "--map", str(bad)],
        tmp_path / "k.duckdb",
    )
    assert "bad.yaml:3" in line and "not_a_hazard" in line
    strict = tmp_path / "strict.yaml"
    strict.write_text("values:\n  taxonomy:\n    fraud: non_violent_crimes\n")
    line = _bad(
        ["import", "inspect", str(inspect_log("conversation_refusal", "eval")), "--map", str(strict)],
        tmp_path / "k.duckdb",
    )
    assert "has no entry" in line


def test_errored_inspect_sample_is_an_error_record(tmp_path: Path) -> None:
    data = json.loads(inspect_log("refusal_check", "json").read_text())
    sample = data["samples"][0]
    sample["error"] = {"message": "RuntimeError: the model crashed", "traceback": "…"}
    sample["output"] = {"model": "target", "choices": []}
    sample["scores"] = {}
    log = tmp_path / "err.json"
    log.write_text(json.dumps(data))
    db = tmp_path / "j.duckdb"
    out = import_files("inspect", [log], db)
    assert out.responses_error == 1 and out.external == {"inspect:includes": 23}
    assert query(db, "SELECT status, error_message FROM responses WHERE prompt_id = ?", [sample["id"]]) == [
        ("error", "RuntimeError: the model crashed")
    ]


def test_grade_an_imported_run_and_compare_with_the_external_judge(tmp_path: Path) -> None:
    db = tmp_path / "j.duckdb"
    log = tmp_path / "conv.eval"
    shutil.copy(inspect_log("conversation_refusal", "eval"), log)
    res = judge_cli(["import", "inspect", str(log), "--db", str(db), "-q"])
    assert res.returncode == 0, res.stderr
    res = judge_cli(["grade", "latest", "--judge", "builtin/judge", "--db", str(db)])
    assert res.returncode == 0 and "graded 8 answer(s) now" in res.stdout, res.stderr
    res = judge_cli(["grade", "latest", "--judge", "builtin/judge", "--db", str(db)])
    assert "graded 0 answer(s) now; 8 verdict(s)" in res.stdout  # resumable: nothing left to do
    res = judge_cli(["compare", "latest", "--format", "json", "--db", str(db)])
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    [pair] = [p for p in report["pairs"] if {p["a"], p["b"]} == {"builtin/judge", "inspect:model_graded_qa"}]
    assert pair["n"] == 8 and pair["outcome_agreement"] is not None


@pytest.mark.parametrize("kind", ["inspect", "promptfoo"])
def test_unknown_file_shapes_are_refused(tmp_path: Path, kind: str) -> None:
    junk = tmp_path / ("x.json")
    junk.write_text('{"hello": 1}')
    assert "not" in _bad(["import", kind, str(junk)], tmp_path / "j.duckdb")
