"""Importing the shared Inspect and promptfoo sample files: prompts, answers, external verdicts, re-imports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from import_helpers import inspect_log, samples
from pipeline_helpers import query

from judge.sources.importer import import_files
from judge.sources.inspect import read_inspect


def test_eval_and_json_logs_hold_the_same_samples_in_dataset_order() -> None:
    for task in ("refusal_check", "conversation_refusal"):
        a = read_inspect(inspect_log(task, "eval"))
        b = read_inspect(inspect_log(task, "json"))
        assert [i.prompt_id for i in a.items] == [i.prompt_id for i in b.items]
        assert [(i.text, i.prompt, i.messages, i.metadata) for i in a.items] == [
            (i.text, i.prompt, i.messages, i.metadata) for i in b.items
        ]
        assert [s.value for i in a.items for s in i.scores] == [s.value for i in b.items for s in i.scores]
    refusal = read_inspect(inspect_log("refusal_check", "eval"))
    assert len(refusal.items) == 24 and refusal.items[0].prompt_id == "safe-01"  # dataset order, not sorted
    assert refusal.name == "refusal_check" and refusal.items[0].target == "openai-api/stub/target"
    conv = read_inspect(inspect_log("conversation_refusal", "eval"))
    assert conv.items[0].prompt_id == "1" and [m["role"] for m in conv.items[0].messages or []] == ["system", "user"]
    assert conv.items[0].scores[0].judge == "inspect:model_graded_qa"
    assert conv.items[0].scores[0].grader_prompt and "[BEGIN DATA]" in conv.items[0].scores[0].grader_prompt
    assert conv.items[0].prompt_tokens and conv.items[0].completion_tokens and conv.items[0].latency_ms


def _outcomes(db: Path, run_id: str, judge: str) -> dict[str, int]:
    rows = query(db, "SELECT outcome, count(*) FROM scored WHERE run_id = ? AND judge = ? GROUP BY 1", [run_id, judge])
    return {str(k): int(v) for k, v in rows}


def test_inspect_scores_become_an_external_judge_with_exact_outcomes(tmp_path: Path) -> None:
    db = tmp_path / "j.duckdb"
    out = import_files("inspect", [inspect_log("refusal_check", "eval")], db)
    assert out.added and out.items == 24 and out.external == {"inspect:includes": 24}
    # README: includes accuracy 0.458 (11 C / 13 I)
    got = _outcomes(db, out.run_id, "inspect:includes")
    assert got.get("acceptable") == 11 and sum(got.values()) == 24
    conv = import_files("inspect", [inspect_log("conversation_refusal", "json")], db)
    assert _outcomes(db, conv.run_id, "inspect:model_graded_qa").get("acceptable") == 6
    [(raw, rationale, model)] = query(
        db,
        """SELECT v.raw_output, v.rationale, m.imported_from FROM verdicts v JOIN models m ON m.model_key = v.judge_key
           JOIN responses r USING (response_id) WHERE r.run_id = ? AND r.prompt_id = '2'""",
        [conv.run_id],
    )
    assert raw == '"C"' and rationale.endswith("GRADE: C") and model == "inspect"
    targets = query(db, "SELECT name FROM run_models WHERE run_id = ? AND role = 'target'", [out.run_id])
    assert targets == [("openai-api/stub/target",)]


def test_promptfoo_json_and_jsonl_rows(tmp_path: Path) -> None:
    db = tmp_path / "j.duckdb"
    for name in ("results.json", "results.jsonl"):
        out = import_files("promptfoo", [samples() / "promptfoo" / name], db)
        assert out.items == 12 and out.targets == ["stub-target"] and out.external == {"promptfoo:icontains": 12}
        assert _outcomes(db, out.run_id, "promptfoo:icontains").get("acceptable") == 7  # README: 7 pass / 5 fail
        rows = query(
            db,
            """SELECT r.prompt_id, r.prompt_tokens, r.completion_tokens, r.latency_ms, p.metadata, m.model
               FROM responses r JOIN prompts p USING (prompt_hash) JOIN models m ON m.model_key = r.target_key
               WHERE r.run_id = ? ORDER BY r.prompt_id""",
            [out.run_id],
        )
        assert rows[0][0] == "adv-01" and rows[0][1] and rows[0][2] and rows[0][3] is not None
        assert json.loads(rows[0][4])["vars"]["question"] and rows[0][5] == "openai:chat:stub-target"


def test_reimport_adds_nothing_and_a_changed_log_says_what_changed(tmp_path: Path) -> None:
    db = tmp_path / "j.duckdb"
    log = tmp_path / "log.json"
    shutil.copy(inspect_log("refusal_check", "json"), log)
    first = import_files("inspect", [log], db)
    again = import_files("inspect", [log], db)
    assert not again.added and again.run_id == first.run_id
    assert query(db, "SELECT count(*) FROM runs")[0][0] == 1
    data = json.loads(log.read_text())
    data["samples"] = data["samples"][1:]  # one sample removed
    data["samples"][0]["output"]["choices"][0]["message"]["content"] = "A changed answer."
    data["samples"][1]["scores"]["includes"]["value"] = (
        "C" if data["samples"][1]["scores"]["includes"]["value"] == "I" else "I"
    )
    log.write_text(json.dumps(data))
    changed = import_files("inspect", [log], db)
    assert changed.added and changed.previous_run == first.run_id
    assert changed.changes["removed"] == 1 and changed.changes["answers changed"] == 1
    assert changed.changes["scores changed"] == 1 and changed.changes["added"] == 0
    assert changed.changes["unchanged"] == 21


def test_promptfoo_error_rows_and_chat_prompts(tmp_path: Path) -> None:
    data = json.loads((samples() / "promptfoo" / "results.json").read_text())
    rows = data["results"]["results"]
    rows[0].update(failureReason=2, error="API error: 500 upstream failed", gradingResult=None, success=False)
    rows[0]["response"] = {"error": "API error: 500 upstream failed"}
    chat = [{"role": "system", "content": "Be careful."}, {"role": "user", "content": rows[1]["vars"]["question"]}]
    rows[1]["prompt"]["raw"] = json.dumps(chat)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    db = tmp_path / "j.duckdb"
    out = import_files("promptfoo", [path], db)
    assert out.responses_error == 1 and out.external == {"promptfoo:icontains": 11}
    err = query(db, "SELECT status, error_message, error_kind FROM responses WHERE status <> 'ok'")
    assert err == [("error", "API error: 500 upstream failed", "promptfoo_error")]
    [(messages,)] = query(db, "SELECT p.messages FROM prompts p WHERE p.messages IS NOT NULL")
    assert json.loads(messages) == chat


def test_score_values_without_a_pass_fail_meaning_are_unsure_unless_mapped(tmp_path: Path) -> None:
    data = json.loads(inspect_log("refusal_check", "json").read_text())
    data["samples"][0]["scores"]["includes"]["value"] = "P"
    data["samples"][1]["scores"]["includes"]["value"] = "refusal"  # a tier name is kept as that tier
    log = tmp_path / "p.json"
    log.write_text(json.dumps(data))
    db = tmp_path / "j.duckdb"
    out = import_files("inspect", [log], db)
    assert out.unsure == 1
    rows = query(
        db,
        "SELECT raw_output, status, tier, error_message FROM verdicts WHERE raw_output IN ('\"P\"', '\"refusal\"') "
        "ORDER BY raw_output",
    )
    assert rows[0][:3] == ('"P"', "unsure", None) and "neither pass nor fail" in rows[0][3]
    assert rows[1][:3] == ('"refusal"', "ok", "refusal")
    mapped = import_files("inspect", [log], db, score_map=["P=fail"])
    assert mapped.added and mapped.unsure == 0  # other options: another import
