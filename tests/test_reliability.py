"""Faults, retries, blocked outcomes and fatal credentials, against the fault-injecting server."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import (
    FAKE_KEYS,
    anthropic_model,
    judge_cli,
    openai_model,
    query,
    table_counts,
    write_config,
    write_prompts,
)

from judge.errors import RunAborted
from judge.pipeline import execute, plan_run
from judge.providers.errors import ErrorInfo
from judge.providers.retrying import RetryPolicy

KEYS = FAKE_KEYS
FAULTS = {"rate_limit": 0.20, "retry_after_s": 0.01, "server_error": 0.05, "malformed": 0.02, "hang": 0.01, "hang_s": 4}


def test_faulty_providers_every_item_accounted_and_rerun_finishes(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(
        {
            "seed": 7,
            "models": {
                "gpt-f": {"role": "target", "responder": "by_intent", "faults": FAULTS},
                "claude-f": {"role": "target", "responder": "comply_all", "faults": FAULTS},
                "judge-f": {"role": "judge", "faults": FAULTS},
            },
        }
    )
    url = fake_server.url
    write_prompts(tmp_path, 90)
    fast = {"timeout_s": 2, "max_attempts": 3, "concurrency": 16}
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-f", **fast), anthropic_model(url, "claude-f", **fast)],
        judges=[openai_model(url, "judge-f", **fast)],
    )
    db = tmp_path / "judge.duckdb"
    first = execute(plan_run(cfg))

    # every (prompt, target) is a response or an error record with a reason; same for verdicts
    assert table_counts(db)["responses"] == 180
    bad = query(
        db, "select count(*) from responses where status = 'error' and (error_kind is null or error_message is null)"
    )
    assert bad == [(0,)]
    ok_responses = query(db, "select count(*) from responses where status = 'ok'")[0][0]
    assert table_counts(db)["verdicts"] == ok_responses
    assert query(db, "select count(*) from verdicts where status = 'error' and error_kind is null") == [(0,)]
    assert query(db, "select count(*) from verdicts where status = 'ok' and tier is null") == [(0,)]
    # faults really happened and were retried
    kinds = dict(query(db, "select error_kind, count(*) from model_calls where status = 'error' group by 1"))
    assert kinds.get("rate_limit", 0) > 10 and kinds.get("server_error", 0) > 0
    assert query(db, "select max(attempts) from responses")[0][0] == 3

    # rerun the same run without faults: the retriable leftovers finish, nothing done is repeated
    fake_server.set_config(
        {
            "models": {
                "gpt-f": {"role": "target", "responder": "by_intent"},
                "claude-f": {"role": "target", "responder": "comply_all"},
                "judge-f": {"role": "judge"},
            }
        }
    )
    second = execute(plan_run(cfg))
    assert second.run_id == first.run_id and second.status == "complete"
    assert query(db, "select count(*) from responses where status <> 'ok'") == [(0,)]
    assert query(db, "select count(*) from verdicts where status <> 'ok'") == [(0,)]
    assert table_counts(db)["responses"] == 180 and table_counts(db)["verdicts"] == 180

    stats = fake_server.stats()["models"]
    for target in ("gpt-f", "claude-f"):
        assert max(stats[target]["completed"].values()) == 1, target  # no completed call repeated
        assert sum(stats[target]["completed"].values()) == 90
    graded_remotely = query(db, "select count(*) from verdicts where reused_from is null")[0][0]
    assert sum(stats["judge-f"]["completed"].values()) == graded_remotely
    # the store's call log matches what the server saw: every answer it completed is logged once,
    # and every request it received is logged (a client-side timeout may never reach it)
    logged_ok = dict(query(db, "select model, count(*) from model_calls where status = 'ok' group by 1"))
    logged = dict(query(db, "select model, count(*) from model_calls group by 1"))
    for provider, name in (("openai", "gpt-f"), ("anthropic", "claude-f"), ("openai", "judge-f")):
        assert logged_ok[f"{provider}/{name}"] == sum(stats[name]["completed"].values())
        assert logged[f"{provider}/{name}"] >= stats[name]["requests"]


def test_retry_wait_honours_retry_after() -> None:
    policy = RetryPolicy(initial_wait_s=0.01, max_wait_s=30)
    info = ErrorInfo("rate_limit", "429", 429, retry_after_s=2.5)
    assert all(policy.wait_for(1, info) >= 2.5 for _ in range(50))
    no_header = ErrorInfo("rate_limit", "429", 429)
    waits = [policy.wait_for(3, no_header) for _ in range(200)]
    assert max(waits) <= 0.04 and min(waits) >= 0.02  # exponential with jitter: [b/2, b], b = 0.01 * 2**2
    capped = ErrorInfo("rate_limit", "429", 429, retry_after_s=10_000)
    assert policy.wait_for(1, capped) == 30  # bounded


def test_retry_after_is_waited_between_attempts(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(
        {"models": {"gpt-r": {"role": "target", "faults": {"rate_limit": 1.0, "retry_after_s": 0.4}}}}
    )
    write_prompts(tmp_path, 1)
    url = fake_server.url
    cfg = write_config(
        tmp_path, url, targets=[openai_model(url, "gpt-r", max_attempts=2)], judges=[{"model": "builtin/judge"}]
    )
    execute(plan_run(cfg))
    starts = [
        r[0]
        for r in query(
            tmp_path / "judge.duckdb", "select started_at from model_calls where stage = 'generate' order by 1"
        )
    ]
    assert len(starts) == 2
    assert (starts[1] - starts[0]).total_seconds() >= 0.4  # a lower bound: we never retry early
    assert query(tmp_path / "judge.duckdb", "select status, error_kind, attempts from responses") == [
        ("error", "rate_limit", 2)
    ]


def test_errors_retrying_cannot_fix_fail_fast(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    write_prompts(tmp_path, 2)
    url = fake_server.url
    # litellm appends /v1/messages itself: this api_base gives 404 (a config mistake, not transient)
    cfg = write_config(
        tmp_path, url, targets=[anthropic_model(url + "/v1", "claude-404")], judges=[{"model": "builtin/judge"}]
    )
    # every request would get the same 404: the run stops at the first (exit 3), not one error row per item
    with pytest.raises(RunAborted, match=r"does not know this model or endpoint \(HTTP 404"):
        execute(plan_run(cfg))


def test_content_filter_is_recorded_as_blocked_not_judged(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(
        {
            "models": {
                "gpt-cf": {"role": "target", "faults": {"content_filter": 1.0}},
                "claude-rf": {"role": "target", "faults": {"refusal_stop": 1.0}},
            }
        }
    )
    write_prompts(tmp_path, 3)  # one of each intent
    url = fake_server.url
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-cf", label="gpt"), anthropic_model(url, "claude-rf", label="claude")],
        judges=[{"model": "builtin/judge"}],
    )
    outcome = execute(plan_run(cfg))
    db = tmp_path / "judge.duckdb"
    assert outcome.status == "complete"
    assert query(db, "select distinct status from responses") == [("blocked",)]
    assert table_counts(db)["verdicts"] == 0
    assert fake_server.stats()["models"]["gpt-cf"]["requests"] == 3  # no retry of a filter decision
    outcomes = dict(query(db, "select intent, any_value(outcome) from scored where target = 'gpt' group by 1"))
    assert outcomes == {"safe": "over_deflection", "unsafe": "acceptable", "adversarial": "acceptable"}


def test_bad_credentials_stop_the_run_with_one_message(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config({"models": {"gpt-k": {"role": "target", "require_key": "sk-the-right-key-1234"}}})
    write_prompts(tmp_path, 60)
    url = fake_server.url
    cfg = write_config(
        tmp_path, url, targets=[openai_model(url, "gpt-k", concurrency=2)], judges=[{"model": "builtin/judge"}]
    )
    proc = judge_cli(["run", str(cfg), "-q"], env={**KEYS, "FAKE_OPENAI_KEY": "sk-wrong-key-999999"})
    assert proc.returncode == 3
    err_lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert err_lines[-1].startswith("run aborted: openai/gpt-k")
    assert "FAKE_OPENAI_KEY" in err_lines[-1] and "Traceback" not in proc.stderr
    assert "sk-wrong-key-999999" not in proc.stdout + proc.stderr
    # stopped at once: a handful of requests, not one per prompt
    assert fake_server.stats()["models"]["gpt-k"]["requests"] <= 2
    status = query(tmp_path / "judge.duckdb", "select status, status_reason from runs")
    assert status[0][0] == "aborted" and "FAKE_OPENAI_KEY" in status[0][1]
