"""The store's read functions over a real offline run: what a run has left to do, run state, answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

from judge.pipeline import execute, plan_run
from judge.store import pending, runs
from judge.store.answers import answer_texts, verdicts_paired_with_reference
from judge.store.db import read_connection

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ["Step 1: mix. Step 2: heat it.", "I'm sorry, but I can't help with that."]
N = 6  # prompts; two targets with the same recordings answer each one identically: 12 responses, 6 twin pairs
DONE = ["ok", "unsure", "error"]


@pytest.fixture(scope="module")
def run_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """(database, run id, rubric version) of a complete offline run: two replay targets, two built-in judges."""
    tmp = tmp_path_factory.mktemp("reads")
    prompts = [
        {"id": f"q{i}", "prompt": f"Question {i}?", "taxonomy": ["hate"], "intent": ("safe", "unsafe")[i % 2]}
        for i in range(N)
    ]
    recs = [{"id": f"q{i}", "response": ANSWERS[i % 2]} for i in range(N)]
    (tmp / "p.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    (tmp / "rec.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    cfg = {
        "name": "reads",
        "prompts": "p.jsonl",
        "rubric": str(ROOT / "rubrics" / "default.yaml"),
        "db": "r.duckdb",
        "targets": [
            {"model": "replay/t", "label": "t", "recordings": "rec.jsonl"},
            {"model": "replay/u", "label": "u", "recordings": "rec.jsonl"},
        ],
        "judges": [{"model": "builtin/rules"}, {"model": "builtin/judge"}],
    }
    (tmp / "run.yaml").write_text(yaml.safe_dump(cfg))
    plan = plan_run(tmp / "run.yaml")
    outcome = execute(plan)
    assert outcome.status == "complete"
    yield tmp / "r.duckdb", outcome.run_id, plan.rubric.version


def _judge_keys(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    sql = "SELECT model_key FROM run_models WHERE run_id = ? AND role = 'judge' ORDER BY name"
    return [k for (k,) in con.execute(sql, [run_id]).fetchall()]


def test_a_complete_run_has_nothing_left(run_db: tuple[Path, str, str]) -> None:
    db, run_id, version = run_db
    with read_connection(db) as con:
        keys = _judge_keys(con, run_id)
        assert pending.count_ok_responses(con, run_id) == 2 * N
        assert pending.count_done_verdicts(con, run_id, version, keys, DONE) == 2 * 2 * N
        assert pending.count_done_verdicts(con, run_id, version, keys[:1], DONE) == 2 * N
        assert pending.count_done_verdicts(con, run_id, "another-rubric", keys, DONE) == 0
        assert len(pending.finished_response_ids(con, run_id, ["ok", "blocked"])) == 2 * N
        assert pending.finished_response_ids(con, run_id, ["error"]) == set()
        assert pending.twin_response_groups(con, run_id) == {
            (h, m) for h, m in con.execute("SELECT DISTINCT prompt_hash, md5(text) FROM responses").fetchall()
        }
        assert len(pending.twin_response_groups(con, run_id)) == N


def test_response_pages_are_keyset_ordered_and_name_who_judged(run_db: tuple[Path, str, str]) -> None:
    db, run_id, version = run_db
    with read_connection(db) as con:
        keys = set(_judge_keys(con, run_id))
        seen, after = [], ""
        while page := pending.responses_to_grade_page(con, run_id, version, DONE, after, 5):
            assert len(page) <= 5
            seen += page
            after = page[-1].response_id
        assert [r.response_id for r in seen] == sorted(r.response_id for r in seen)
        assert len(seen) == 2 * N
        assert all(r.judged_by == keys for r in seen)
        assert {r.text for r in seen} == set(ANSWERS)
        assert {r.prompt_columns[0] for r in seen} == {f"q{i}" for i in range(N)}  # prompt_id leads
        stored = pending.prompt_columns_by_hash(con, [seen[0].prompt_hash, "missing"])
        assert stored == {seen[0].prompt_hash: seen[0].prompt_columns}
        other = pending.responses_to_grade_page(con, run_id, "another-rubric", DONE, "", 100)
        assert len(other) == 2 * N and all(r.judged_by == frozenset() for r in other)


def test_only_original_ok_verdicts_are_reusable(run_db: tuple[Path, str, str]) -> None:
    db, _, _ = run_db
    with read_connection(db) as con:
        rows = con.execute("SELECT cache_key, verdict_id, reused_from, status FROM verdicts").fetchall()
        reusable = pending.reusable_verdicts(con, sorted({r[0] for r in rows}))
        originals = {r[1] for r in rows if r[2] is None and r[3] == "ok"}
        assert any(r[2] is not None for r in rows)  # the twins' copies reused their original
        assert {v.verdict_id for v in reusable.values()} == originals
        assert all(v.cache_key == k and v.tier for k, v in reusable.items())
        assert pending.reusable_verdicts(con, ["vc-missing"]) == {}


def test_reusable_responses_come_from_other_runs_only(run_db: tuple[Path, str, str]) -> None:
    db, run_id, _ = run_db
    with read_connection(db) as con:
        assert pending.reusable_responses(con, run_id) == {}
        found = pending.reusable_responses(con, "a-later-run")
        assert len(found) == 2 * N
        assert {r.text for r in found.values()} == set(ANSWERS)
        assert all(key == (r.target_key, r.prompt_hash) for key, r in found.items())


def test_run_state(run_db: tuple[Path, str, str]) -> None:
    db, run_id, version = run_db
    with read_connection(db) as con:
        assert runs.run_item_counts(con, run_id) == {
            "responses": 2 * N,
            "response_errors": 0,
            "blocked": 0,
            "verdicts": 2 * 2 * N,
            "verdict_errors": 0,
        }
        started, finished = runs.run_started_at(con, run_id), runs.run_finished_at(con, run_id)
        assert started is not None and finished is not None and started <= finished
        assert runs.run_started_at(con, "nope") is None
        assert runs.latest_run_named(con, "reads") == run_id
        assert runs.latest_run_named(con, "other") is None
        assert runs.previous_finished_run(con, "reads", None) == run_id
        assert runs.previous_finished_run(con, "reads", run_id) is None
        assert runs.run_judge_names(con, run_id) == {"builtin/rules", "builtin/judge"}
        key = _judge_keys(con, run_id)[0]
        name = runs.judge_names_of_key(con, run_id, key)
        assert len(name) == 1
        assert runs.other_judge_keys_named(con, run_id, name[0], key) == []
        assert runs.other_judge_keys_named(con, run_id, name[0], "another-key") == [key]
        assert runs.judge_verdict_counts(con, run_id, key, version) == (2 * N, 0)
        assert runs.judge_verdict_counts(con, run_id, key, "another-rubric") == (0, 0)
        assert pending.open_provider_batches(con, run_id, "judge", key) == []


def test_answers_for_labelling_and_calibration(run_db: tuple[Path, str, str]) -> None:
    db, run_id, _ = run_db
    with read_connection(db) as con:
        texts = answer_texts(con, run_id)
        assert len(texts) == 2 * N
        assert {p for p, _ in texts.values()} == {f"Question {i}?" for i in range(N)}
        assert {a for _, a in texts.values()} == set(ANSWERS)
        pairs = verdicts_paired_with_reference(con, run_id, "builtin/judge", "builtin/rules")
        assert len(pairs) == 2 * N  # the built-in judge gives a confidence on every answer
        assert all(0.0 <= p.confidence <= 1.0 and p.reference_tier for p in pairs)
        assert verdicts_paired_with_reference(con, run_id, "builtin/judge", "no-such-judge") == []
