"""Budgets stop a run cleanly and a later run continues; verdict and response reuse across runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import judge_cli, openai_model, query, table_counts, write_config, write_prompts

from judge.config import Budget
from judge.pipeline import execute, plan_run

KEYS = {"FAKE_OPENAI_KEY": "sk-test-openai-0000"}
SERVER = {"models": {"gpt-b": {"role": "target", "responder": "by_intent"}, "judge-b": {"role": "judge"}}}


def test_max_calls_stops_cleanly_and_a_rerun_continues(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(SERVER)
    url = fake_server.url
    write_prompts(tmp_path, 30)
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-b", concurrency=1)],
        judges=[openai_model(url, "judge-b", concurrency=1)],
    )
    db = tmp_path / "judge.duckdb"
    first = execute(plan_run(cfg), budget=Budget(max_calls=10))
    assert first.status == "stopped" and "max_calls 10" in (first.reason or "")
    assert first.remote_calls == 10
    assert fake_server.stats()["total_requests"] <= 11  # at most the call in flight when it stopped
    assert query(db, "select status, status_reason from runs")[0][0] == "stopped"
    assert "rerun to continue" in query(db, "select status_reason from runs")[0][0]
    done_first = table_counts(db)["responses"]
    assert 0 < done_first < 30

    second = execute(plan_run(cfg))  # same run, no budget: finishes what is missing
    assert second.run_id == first.run_id and second.status == "complete"
    assert table_counts(db)["responses"] == 30 and table_counts(db)["verdicts"] == 30
    target_done = fake_server.stats()["models"]["gpt-b"]["completed"]
    assert sum(target_done.values()) == 30 and max(target_done.values()) == 1


def test_budget_from_cli_and_config(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(SERVER)
    url = fake_server.url
    write_prompts(tmp_path, 12)
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-b", concurrency=1)],
        judges=[{"model": "builtin/judge"}],
        extra="budget: {max_calls: 100}\n",
    )
    proc = judge_cli(["run", str(cfg), "-q", "--max-calls", "5"], env=KEYS)
    assert proc.returncode == 5, proc.stderr  # stopped by the budget
    printed = " ".join(proc.stdout.split())
    assert "stopped: budget reached: 5 model calls (max_calls 5)" in printed
    # the fake models have no price: their cost is reported as unknown, not as $0
    assert "5 call(s) of models without a known price not included" in printed
    proc = judge_cli(["run", str(cfg), "-q"], env=KEYS)  # the config's budget is large enough
    assert proc.returncode == 0 and "(complete, resumed)" in proc.stdout


def test_verdicts_reused_across_runs_responses_fresh_unless_asked(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(SERVER)
    url = fake_server.url
    write_prompts(tmp_path, 9)
    cfg = write_config(tmp_path, url, targets=[openai_model(url, "gpt-b")], judges=[openai_model(url, "judge-b")])
    db = tmp_path / "judge.duckdb"
    execute(plan_run(cfg), new_run=True)
    after_first = fake_server.stats()["models"]
    assert after_first["gpt-b"]["requests"] == 9 and after_first["judge-b"]["requests"] == 9

    second = execute(plan_run(cfg), new_run=True)  # a new run: targets asked again, verdicts reused
    stats = fake_server.stats()["models"]
    assert stats["gpt-b"]["requests"] == 18 and stats["judge-b"]["requests"] == 9
    reused = query(db, f"select count(*) from verdicts where run_id = '{second.run_id}' and reused_from is not null")
    assert reused == [(9,)]
    # the reused verdicts carry the same tiers as the ones they came from
    pairs = query(db, "select v.tier, o.tier from verdicts v join verdicts o on o.verdict_id = v.reused_from")
    assert len(pairs) == 9 and all(a == b for a, b in pairs)

    cfg2 = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-b")],
        judges=[openai_model(url, "judge-b")],
        extra="reuse_responses: true\n",
    )
    third = execute(plan_run(cfg2), new_run=True)  # responses copied from the latest run, no calls at all
    assert fake_server.stats()["total_requests"] == 27
    assert query(db, f"select count(*) from responses where run_id = '{third.run_id}' and reused_from is not null") == [
        (9,)
    ]


def test_run_warns_once_about_paths_outside_the_taxonomy(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text(
        '{"id": "a", "prompt": "x", "taxonomy": ["my_team_hazard", "sub"], "intent": "safe"}\n'
        '{"id": "b", "prompt": "y", "taxonomy": ["hate"], "intent": "unsafe"}\n'
        '{"id": "c", "prompt": "z", "taxonomy": ["my_team_hazard", "sub"], "intent": "unsafe"}\n'
    )
    (tmp_path / "rec.jsonl").write_text(
        '{"id": "a", "response": "ok"}\n{"id": "b", "response": "no"}\n{"id": "c", "response": "no"}\n'
    )
    cfg = write_config(
        tmp_path, "", targets=[{"model": "replay/x", "recordings": "rec.jsonl"}], judges=[{"model": "builtin/judge"}]
    )
    cfg.write_text(cfg.read_text().replace("prompts.jsonl", "p.jsonl"))
    proc = judge_cli(["run", str(cfg), "-q"])
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "outside the taxonomy" in line]
    assert len(warnings) == 1 and "my_team_hazard/sub" in warnings[0] and "1 taxonomy path" in warnings[0]


def test_a_new_builtin_judge_version_does_not_reuse_old_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import judge.judging.builtin as builtin

    write_prompts(tmp_path, 3)
    (tmp_path / "rec.jsonl").write_text("".join(f'{{"id": "p{i:03d}", "response": "No."}}\n' for i in range(3)))
    cfg = write_config(
        tmp_path, "", targets=[{"model": "replay/x", "recordings": "rec.jsonl"}], judges=[{"model": "builtin/judge"}]
    )
    db = tmp_path / "judge.duckdb"
    execute(plan_run(cfg), new_run=True)
    execute(plan_run(cfg), new_run=True)
    assert query(db, "select count(*) from verdicts where reused_from is not null") == [(3,)]
    monkeypatch.setattr(builtin, "BUILTIN_JUDGE_VERSION", "builtin-test-next", raising=False)
    execute(plan_run(cfg), new_run=True)
    assert query(db, "select count(*) from verdicts where reused_from is not null") == [(3,)]  # nothing new reused
