"""Budgets hold with requests in flight, identical work is judged once per run, and `judge run` exits
with the documented code for each way a run can end (real processes against the fake server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline_helpers import FAKE_KEYS, judge_cli, openai_model, query, write_config, write_prompts

from judge.config import Budget
from judge.errors import ExitCode
from judge.pipeline import execute, plan_run

PRICED = "gpt-4o-mini"  # a name litellm has a price for


def _server(fake_server: Any, models: dict[str, Any], latency_ms: float = 40) -> str:
    fake_server.set_config({"latency_ms": latency_ms, "models": models})
    return str(fake_server.url)


def test_max_calls_holds_at_concurrency_16_retries_included(tmp_path: Path, fake_server: Any) -> None:
    url = _server(
        fake_server,
        {
            "gpt-c": {"role": "target", "faults": {"server_error": 0.3}},  # retries are calls too
            "judge-c": {"role": "judge"},
        },
    )
    write_prompts(tmp_path, 60)
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-c", concurrency=16)],
        judges=[openai_model(url, "judge-c", concurrency=16)],
        extra="budget: {max_calls: 20}\n",
    )
    proc = judge_cli(["run", str(cfg), "-q"], env=FAKE_KEYS)
    assert proc.returncode == ExitCode.BUDGET_STOP == 5, proc.stderr
    assert "budget reached: 20 model calls (max_calls 20)" in " ".join(proc.stdout.split())
    stats = fake_server.stats()
    assert stats["total_requests"] == 20  # counted at the server: never more than the budget
    db = tmp_path / "judge.duckdb"
    assert "Remote model calls this invocation: 20" in proc.stdout
    # answered requests are stored with their items; an item whose retry the budget refused stays
    # pending for the next run (its failed attempt is counted above, its record is not kept)
    assert query(db, "select count(*) from model_calls")[0][0] <= 20
    assert stats["models"]["gpt-c"]["outcomes"]["500"] > 0  # failed attempts were among the 20
    # a rerun with a larger budget continues; answers already stored are not asked again
    stored = query(db, "select count(*) from responses where status = 'ok'")[0][0]
    proc = judge_cli(["run", str(cfg), "-q", "--max-calls", "1000"], env=FAKE_KEYS)
    assert proc.returncode in (ExitCode.COMPLETE, ExitCode.INCOMPLETE), proc.stderr
    assert query(db, "select count(*) from responses")[0][0] == 60 and stored < 60


def test_max_cost_holds_with_requests_in_flight(tmp_path: Path, fake_server: Any, keys: None) -> None:
    url = _server(fake_server, {PRICED: {"role": "target", "responder": "comply_all"}, "judge-c": {"role": "judge"}})
    write_prompts(tmp_path, 60)
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, PRICED, concurrency=16)],
        judges=[{"model": "builtin/judge"}],
    )
    # one request costs about $0.00004 here: the budget allows a handful, 16 could be in flight at once
    outcome = execute(plan_run(cfg), budget=Budget(max_cost_usd=0.0002))
    assert outcome.status == "stopped" and "max_cost_usd" in (outcome.reason or "")
    db = tmp_path / "judge.duckdb"
    spent = query(db, "select sum(cost_usd), count(*) from model_calls where model = ?", [f"openai/{PRICED}"])[0]
    assert spent[0] is not None and spent[0] <= 0.0002
    assert spent[1] == fake_server.stats()["total_requests"] < 60
    assert abs(outcome.cost_usd - spent[0]) < 1e-12


def test_identical_work_is_judged_once_per_run(tmp_path: Path, fake_server: Any, keys: None) -> None:
    # two targets that answer every prompt with the same text: each (prompt, answer) pair occurs twice
    url = _server(
        fake_server,
        {
            "gpt-x": {"role": "target", "responder": "refuse_all"},
            "gpt-y": {"role": "target", "responder": "refuse_all"},
            "judge-d": {"role": "judge"},
        },
        latency_ms=20,
    )
    write_prompts(tmp_path, 30)
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-x", concurrency=16), openai_model(url, "gpt-y", concurrency=16)],
        judges=[openai_model(url, "judge-d", concurrency=16)],
        extra="reuse_verdicts: true\n",
    )
    outcome = execute(plan_run(cfg), new_run=True)
    assert outcome.status == "complete"
    db = tmp_path / "judge.duckdb"
    distinct = query(db, "select count(distinct (prompt_hash, text)) from responses")[0][0]
    assert distinct == 30
    assert fake_server.stats()["models"]["judge-d"]["requests"] == distinct  # server judge count = distinct pairs
    assert query(db, "select count(*), count(reused_from) from verdicts") == [(60, 30)]
    # each copy carries the verdict it reused, from this run
    pairs = query(
        db,
        "select v.tier = o.tier, v.rationale = o.rationale, o.run_id = v.run_id, o.reused_from is null "
        "from verdicts v join verdicts o on o.verdict_id = v.reused_from",
    )
    assert len(pairs) == 30 and all(all(p) for p in pairs)


def test_exit_codes_complete_incomplete_fatal(tmp_path: Path, fake_server: Any) -> None:
    url = _server(
        fake_server,
        {
            "gpt-e": {"role": "target", "responder": "by_intent"},
            "judge-ok": {"role": "judge"},
            "judge-bad": {"role": "judge", "faults": {"bad_schema": 1.0}},
            "judge-locked": {"role": "judge", "require_key": "sk-another-key-0000"},
        },
        latency_ms=0,
    )
    write_prompts(tmp_path, 3)
    ok = write_config(tmp_path, url, targets=[openai_model(url, "gpt-e")], judges=[openai_model(url, "judge-ok")])
    assert judge_cli(["run", str(ok), "-q"], env=FAKE_KEYS).returncode == ExitCode.COMPLETE == 0
    bad = write_config(
        tmp_path, url, targets=[openai_model(url, "gpt-e")], judges=[openai_model(url, "judge-bad")], name="bad"
    )
    proc = judge_cli(["run", str(bad), "-q"], env=FAKE_KEYS)
    assert proc.returncode == ExitCode.INCOMPLETE == 4, proc.stderr
    assert "some items ended as errors" in " ".join(proc.stdout.split())
    locked = write_config(
        tmp_path, url, targets=[openai_model(url, "gpt-e")], judges=[openai_model(url, "judge-locked")], name="lk"
    )
    proc = judge_cli(["run", str(locked), "-q"], env=FAKE_KEYS)
    assert proc.returncode == ExitCode.PROVIDER_FATAL == 3, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("run aborted: ") and "Traceback" not in proc.stderr


def test_run_help_documents_the_exit_codes() -> None:
    proc = judge_cli(["run", "--help"])
    text = " ".join(proc.stdout.split())
    for fragment in ("0 complete", "2 bad input", "3 fatal provider", "4 incomplete", "5 stopped by a", "6 database"):
        assert fragment in text, fragment
    assert "130 interrupted" in text
