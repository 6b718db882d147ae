"""Crash safety (kill -9, deterministic and at random moments) and a reader beside a writer."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import (
    judge_cli,
    openai_model,
    start_judge_cli,
    table_counts,
    write_config,
    write_prompts,
)

from judge.store.db import read_connection
from judge.store.writer import StoreWriter

KEYS = {"FAKE_OPENAI_KEY": "sk-test-openai-0000"}
N = 24


def _setup(tmp_path: Path, url: str, fake_server, *, latency_ms: float = 0, concurrency: int = 4) -> Path:  # type: ignore[no-untyped-def]
    fake_server.set_config(
        {
            "latency_ms": latency_ms,
            "models": {
                "gpt-c": {"role": "target", "responder": "by_intent"},
                "judge-c": {"role": "judge"},
            },
        }
    )
    write_prompts(tmp_path, N)
    return write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-c", concurrency=concurrency)],
        judges=[openai_model(url, "judge-c", concurrency=concurrency)],
    )


def _assert_exact(db: Path, fake_server, *, allowed_repeats: int = 0) -> None:  # type: ignore[no-untyped-def]
    counts = table_counts(db)
    assert counts["runs"] == 1 and counts["responses"] == N and counts["verdicts"] == N
    con = duckdb.connect(str(db), read_only=True)
    distinct = con.execute("select count(distinct response_id), count(distinct verdict_id) from verdicts").fetchall()
    statuses = con.execute("select distinct status from runs").fetchall()
    con.close()
    assert distinct == [(N, N)] and statuses == [("complete",)]
    stats = fake_server.stats()["models"]
    repeats = sum(c - 1 for c in stats["gpt-c"]["completed"].values())
    assert sum(1 for _ in stats["gpt-c"]["completed"]) == N
    assert repeats <= allowed_repeats
    judge_done = sum(stats["judge-c"]["completed"].values())
    assert N <= judge_done <= N + allowed_repeats


@pytest.mark.parametrize("point", ["after_journal:5", "after_journal:30", "before_commit:3", "after_commit:3"])
def test_kill_at_crash_points_then_resume(tmp_path: Path, fake_server, fake_server_module, point: str) -> None:  # type: ignore[no-untyped-def]
    cfg = _setup(tmp_path, fake_server.url, fake_server, concurrency=1)
    env = {**KEYS, "JUDGE_FLUSH_EVERY_S": "0"}
    crashed = judge_cli(["run", str(cfg), "-q"], env={**env, "JUDGE_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL
    db = tmp_path / "judge.duckdb"
    with read_connection(db) as con:  # never left unreadable
        con.execute("select count(*) from responses").fetchall()
    # what the killed process had finished: in the database or in its journal
    with StoreWriter(db):
        pass
    with read_connection(db) as con:
        finished = [
            r[0]
            for r in con.execute(
                "select p.text from responses r join prompts p using (prompt_hash) where r.status = 'ok'"
            ).fetchall()
        ]
    assert finished, "the crash point was reached before any call finished"
    before = dict(fake_server.stats()["models"]["gpt-c"]["completed"])

    done = judge_cli(["run", str(cfg), "-q"], env=env)
    assert done.returncode == 0, done.stderr
    after = fake_server.stats()["models"]["gpt-c"]["completed"]
    for text in finished:  # no finished call is asked again
        key = fake_server_module.messages_key([("user", text)])
        assert after[key] == before[key] == 1
    # at most the one call that was in flight when the process died is repeated
    _assert_exact(db, fake_server, allowed_repeats=1)


def test_kill_9_at_random_moments(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    cfg = _setup(tmp_path, fake_server.url, fake_server, latency_ms=60)
    env = {**KEYS, "JUDGE_FLUSH_EVERY_S": "0.05"}
    db = tmp_path / "judge.duckdb"
    rng = random.Random(1234)
    kills = 0
    for _ in range(3):
        proc = start_judge_cli(["run", str(cfg), "-q"], env=env)
        time.sleep(rng.uniform(4.0, 6.0))  # litellm's import takes a few seconds before any call
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.communicate(timeout=30)
        if db.exists():
            with read_connection(db) as con:
                con.execute("select count(*) from verdicts").fetchall()
    done = judge_cli(["run", str(cfg), "-q"], env=env)
    assert done.returncode == 0, done.stderr
    # A call answered by the server in the instant before the kill (before its result reached the
    # journal) is necessarily asked again: at most one per call in flight (concurrency 4 x 2 models).
    _assert_exact(db, fake_server, allowed_repeats=kills * 8)


def test_reader_process_works_while_a_run_writes(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    cfg = _setup(tmp_path, fake_server.url, fake_server, latency_ms=150)
    db = tmp_path / "judge.duckdb"
    writer = start_judge_cli(["run", str(cfg), "-q"], env={**KEYS, "JUDGE_FLUSH_EVERY_S": "0.05"})
    seen: list[int] = []
    cli_ok = 0
    try:
        deadline = time.monotonic() + 120
        while writer.poll() is None and time.monotonic() < deadline:
            if not db.exists():
                time.sleep(0.05)
                continue
            with read_connection(db) as con:
                seen.append(con.execute("select count(*) from responses").fetchall()[0][0])
            if cli_ok < 2 and 0 < seen[-1] < N:
                proc = judge_cli(["sql", "--db", str(db), "select count(*) from verdicts", "--format", "csv"])
                assert proc.returncode == 0, proc.stderr
                cli_ok += 1
    finally:
        _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    mid_run = [n for n in seen if 0 < n < N]
    assert mid_run, f"no read happened while the run was writing: {seen[:5]}...{seen[-5:]}"
    assert seen == sorted(seen)  # readers see committed batches only, never going backwards
    assert cli_ok >= 1
    assert table_counts(db)["responses"] == N


def test_sigterm_stops_the_run_cleanly_and_a_rerun_finishes(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    # slow answers, so the run is surely still in its stages when the signal comes
    cfg = _setup(tmp_path, fake_server.url, fake_server, latency_ms=500)
    env = {**KEYS, "JUDGE_FLUSH_EVERY_S": "0.05"}
    db = tmp_path / "judge.duckdb"
    proc = start_judge_cli(["run", str(cfg), "-q"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some work is stored, then ask it to stop
        if db.exists():
            with read_connection(db) as con:
                if con.execute("select count(*) from responses").fetchall()[0][0] > 0:
                    break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    with read_connection(db) as con:
        assert con.execute("select status, status_reason from runs").fetchall() == [("stopped", "interrupted")]
    done = judge_cli(["run", str(cfg), "-q"], env=env)
    assert done.returncode == 0, done.stderr
    _assert_exact(db, fake_server, allowed_repeats=8)
