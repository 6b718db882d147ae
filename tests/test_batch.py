"""Provider batch APIs (OpenAI Batch, Anthropic Message Batches) against the loopback fake server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline_helpers import ROOT, anthropic_model, openai_model, query, write_config, write_prompts

from judge.pipeline import execute, plan_run
from judge.providers.batch.answers import BATCH_DISCOUNT
from judge.providers.litellm_backend import litellm_module
from judge.stages import batch as runner
from judge.store.audit import judge_prompt

GPT, CLAUDE = "gpt-4o-mini", "claude-haiku-4-5"  # names litellm has prices for
SERVER = {
    "models": {
        GPT: {"role": "target", "responder": "by_intent"},
        CLAUDE: {
            "role": "target",
            "responder": "table",
            "answers": {"topic 1": "In general, be careful.", "topic 2": "Call a hotline instead."},
        },
        "judge-o": {"role": "judge", "disagree_on": ["hotline"]},
        "judge-a": {"role": "judge"},
    }
}


def _config(folder: Path, url: str, *, batch: bool, n: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_prompts(folder, n)
    b: dict[str, Any] = {"batch": True, "batch_poll_s": 0.05} if batch else {}
    return write_config(
        folder,
        url,
        targets=[openai_model(url, GPT, label="gpt", **b), anthropic_model(url, CLAUDE, label="claude", **b)],
        judges=[
            openai_model(url, "judge-o", label="judge-o", **b),
            anthropic_model(url, "judge-a", label="judge-a", **b),
        ],
    )


TIERS_SQL = """select r.prompt_id, r.target, v.judge, v.status, v.tier from verdicts v
               join responses r using (response_id) order by all"""
COSTS_SQL = """select r.prompt_id, r.target, c.prompt_tokens, c.completion_tokens, c.cost_usd
               from model_calls c join responses r on r.response_id = c.item_id where c.stage = 'generate'
               order by all"""


def test_batch_run_stores_the_same_verdicts_as_online(tmp_path: Path, fake_server: Any, keys: None) -> None:
    fake_server.set_config({**SERVER, "batch_in_progress_polls": 2})
    online = execute(plan_run(_config(tmp_path / "online", fake_server.url, batch=False)))
    assert online.status == "complete"
    online_requests = fake_server.stats()["total_requests"]
    assert fake_server.batch_stats()["openai"]["submitted"] == 0 and "batches" not in fake_server.stats()

    fake_server.reset()
    batch = execute(plan_run(_config(tmp_path / "batch", fake_server.url, batch=True)))
    assert batch.status == "complete"
    stats = fake_server.stats()
    # one batch per model and stage, every item answered through the batch endpoints
    assert stats["batches"]["openai"]["submitted"] == 2 and stats["batches"]["anthropic"]["submitted"] == 2
    assert stats["batches"]["openai"]["items"] == 12 + 24 and stats["batches"]["anthropic"]["items"] == 12 + 24
    assert stats["total_requests"] == online_requests == 24 + 48

    db_online, db_batch = tmp_path / "online" / "judge.duckdb", tmp_path / "batch" / "judge.duckdb"
    tiers = query(db_batch, TIERS_SQL)
    assert tiers == query(db_online, TIERS_SQL) and len(tiers) == 48
    assert {t[4] for t in tiers} == {"full_instructions", "partial", "refusal", "safe_deflection"}
    assert query(db_batch, "select count(*) from verdicts where raw_output like '%rationale%'") == [(48,)]
    with duckdb.connect(str(db_batch), read_only=True) as con:  # the audit trail: each prompt, rebuilt
        ids = [r[0] for r in con.execute("select verdict_id from verdicts").fetchall()]
        assert all("<<<BEGIN RESPONSE" in judge_prompt(con, vid).text for vid in ids)

    # costs: litellm's price for the same tokens, at the batch discount (half the online cost)
    online_costs, batch_costs = query(db_online, COSTS_SQL), query(db_batch, COSTS_SQL)
    assert len(batch_costs) == 24
    litellm = litellm_module()
    for (pid, target, pt, ct, cost), (pid2, _, pt2, ct2, cost2) in zip(batch_costs, online_costs, strict=True):
        assert (pid, pt, ct) == (pid2, pt2, ct2) and pt and ct
        model = f"openai/{GPT}" if target == "gpt" else f"anthropic/{CLAUDE}"
        expected = sum(litellm.cost_per_token(model=model, prompt_tokens=pt, completion_tokens=ct))
        assert cost == pytest.approx(expected * BATCH_DISCOUNT) and cost > 0
        assert cost == pytest.approx(cost2 * BATCH_DISCOUNT)

    batches = query(
        db_batch, "select stage, provider, status, n_items, finished_at is not null from provider_batches order by all"
    )
    assert batches == [
        ("generate", "anthropic", "ended", 12, True),
        ("generate", "openai", "completed", 12, True),
        ("judge", "anthropic", "ended", 24, True),
        ("judge", "openai", "completed", 24, True),
    ]


_CHILD = """
import sys
from judge.pipeline import execute, plan_run
execute(plan_run(sys.argv[1]))
"""


def _wait_for(cond: Any, what: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"the first run exited ({proc.returncode}) before {what}: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_restart_resumes_polling_the_stored_batch(tmp_path: Path, fake_server: Any, keys: None) -> None:
    # the target batch stays "in_progress": the first run submits it, records it, polls; then it is killed
    fake_server.set_config(
        {
            "batch_in_progress_polls": 1_000_000,
            "models": {GPT: {"role": "target", "responder": "by_intent"}, "judge-o": {"role": "judge"}},
        }
    )
    url = fake_server.url
    write_prompts(tmp_path, 12)
    b = {"batch": True, "batch_poll_s": 0.05}
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, GPT, label="gpt", **b)],
        judges=[openai_model(url, "judge-o", label="judge-o", **b)],
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(cfg)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # the batch id is written before the first poll: two polls seen = the row is in DuckDB
        _wait_for(lambda: fake_server.batch_stats()["openai"]["polls"] >= 2, "polling", child)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.stderr is not None
        child.stderr.close()
    db = tmp_path / "judge.duckdb"
    stored = query(db, "select batch_id, stage, status, finished_at from provider_batches")
    assert len(stored) == 1 and stored[0][1:] == ("generate", "in_progress", None)
    assert query(db, "select count(*) from responses") == [(0,)]

    fake_server.set_config(
        {
            "batch_in_progress_polls": 1,
            "models": {GPT: {"role": "target", "responder": "by_intent"}, "judge-o": {"role": "judge"}},
        }
    )
    outcome = execute(plan_run(cfg))
    assert outcome.resumed and outcome.status == "complete"
    stats = fake_server.batch_stats()["openai"]
    assert stats["submitted"] == 2  # the target batch once (first run), the judge batch once (rerun)
    assert stats["items"] == 12 + 12
    rows = query(db, "select batch_id, stage, status, finished_at is not null from provider_batches order by stage")
    assert rows[0] == (stored[0][0], "generate", "completed", True) and rows[1][1:] == ("judge", "completed", True)
    tiers = dict(
        query(
            db,
            "select p.intent, list(distinct v.tier) from verdicts v "
            "join responses r using (response_id) join prompts p using (prompt_hash) group by 1",
        )
    )
    assert tiers == {"safe": ["full_instructions"], "unsafe": ["refusal"], "adversarial": ["refusal"]}
    assert query(db, "select count(*), count(distinct response_id) from verdicts") == [(12, 12)]


def test_batch_errors_splitting_and_retry(
    tmp_path: Path, fake_server: Any, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "MAX_BATCH_ITEMS", 5)
    models = {
        "gpt-x": {"role": "target", "responder": "comply_all"},
        "filtered": {"role": "target", "faults": {"content_filter": 1.0}},
        "judge-bad": {"role": "judge", "faults": {"bad_schema": 1.0}},
    }
    fake_server.set_config({"batch_outcome": "expired", "models": models})
    url = fake_server.url
    write_prompts(tmp_path, 12)
    b = {"batch": True, "batch_poll_s": 0.05}
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-x", **b), openai_model(url, "filtered", **b)],
        judges=[openai_model(url, "judge-bad", **b)],
    )
    first = execute(plan_run(cfg))
    assert first.status == "incomplete"
    db = tmp_path / "judge.duckdb"
    # 12 items per target in batches of 5 (5, 5, 2); an expired batch answers its first half (2, 2, 1)
    assert query(db, "select count(*) from provider_batches where stage = 'generate'") == [(6,)]
    assert query(
        db, "select status, error_kind, count(*) from responses where target = 'openai/gpt-x' group by all order by all"
    ) == [("error", "batch_expired", 7), ("ok", None, 5)]
    assert query(
        db, "select status, count(*) from responses where target = 'openai/filtered' group by all order by all"
    ) == [("blocked", 5), ("error", 7)]

    fake_server.set_config({"models": models})  # batches complete now: the rerun retries the errors only
    fake_server.reset()
    second = execute(plan_run(cfg))
    assert second.resumed and second.status == "incomplete"  # the judge never fits the schema
    # 7 + 7 expired responses resubmitted, then 12 verdicts (5 failed ones retried + 7 new)
    assert fake_server.batch_stats()["openai"]["items"] == 7 + 7 + 12
    responses = query(db, "select status, count(*) from responses group by all order by all")
    assert responses == [("blocked", 12), ("ok", 12)]
    verdicts = query(db, "select status, tier, error_kind, raw_output is not null, count(*) from verdicts group by all")
    assert verdicts == [("error", None, "judge_unparseable", True, 12)]
    assert query(db, "select count(*) from provider_batches where finished_at is null") == [(0,)]


def test_batch_judges_use_the_online_schema_and_validation_for_their_judge_mode(
    tmp_path: Path, fake_server: Any, keys: None
) -> None:
    """judge_mode json: the batch request carries instructor's JSON-schema instructions (no tool), and the
    answer is parsed by instructor's JSON handler: the same verdicts as the online judges in that mode."""
    fake_server.set_config(SERVER)
    url = fake_server.url

    def cfg(folder: Path, batch: bool) -> Path:
        folder.mkdir()
        write_prompts(folder, 6)
        b: dict[str, Any] = {"batch": True, "batch_poll_s": 0.05} if batch else {}
        return write_config(
            folder,
            url,
            targets=[openai_model(url, GPT, label="gpt")],
            judges=[
                openai_model(url, "judge-o", label="judge-o", judge_mode="json", **b),
                anthropic_model(url, "judge-a", label="judge-a", judge_mode="json", **b),
            ],
        )

    assert execute(plan_run(cfg(tmp_path / "online", False))).status == "complete"
    fake_server.reset()
    assert execute(plan_run(cfg(tmp_path / "batch", True))).status == "complete"
    stats = fake_server.stats()
    assert stats["batches"]["openai"]["items"] == 6 and stats["batches"]["anthropic"]["items"] == 6
    for judge in ("judge-o", "judge-a"):  # answered as JSON text, not as a tool call
        shapes = stats["models"][judge]["answer_shapes"]
        assert shapes["tool_call"] == 0 and shapes["json_format"] + shapes["plain"] == 6, (judge, shapes)
    online = query(tmp_path / "online" / "judge.duckdb", TIERS_SQL)
    assert query(tmp_path / "batch" / "judge.duckdb", TIERS_SQL) == online and len(online) == 12
