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
    # at most the calls in flight when the process died are repeated: at concurrency 1, one (a send
    # slot is freed only once its answer is journaled, so an answer not yet stored is still in flight)
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


def test_plain_duckdb_readers_during_a_run(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    """Readers poll with the plain duckdb package (no retry) and with judge.connect during a run."""
    import judge

    # 1 s a call, 2 at a time: each stage lasts ~12 s, longer than the writer's longest interval between
    # commits (a loaded machine stretches it to 40 x the last commit's hold, capped at MAX_INTERVAL_S), so
    # at least one commit lands inside each stage however slow the machine is
    from judge.store.writer import MAX_INTERVAL_S

    latency_s, concurrency = 1.0, 2
    assert N / concurrency * latency_s > MAX_INTERVAL_S
    cfg = _setup(tmp_path, fake_server.url, fake_server, latency_ms=latency_s * 1000, concurrency=concurrency)
    db = tmp_path / "judge.duckdb"
    # a commit every 0.5 s (twice the default): more write windows than a default run, so a conservative figure
    writer = start_judge_cli(["run", str(cfg), "-q"], env={**KEYS, "JUDGE_FLUSH_EVERY_S": "0.5"})
    seen: list[int] = []
    seen_verdicts: list[int] = []
    plain_failed = helper_failed = 0
    cli_ok = 0
    try:
        deadline = time.monotonic() + 120
        while writer.poll() is None and time.monotonic() < deadline:
            if not db.exists() or not (tmp_path / "judge.duckdb.journal").exists():
                time.sleep(0.05)  # not created yet, or still migrating
                continue
            try:
                con = duckdb.connect(str(db), read_only=True)
                responses, verdicts = con.execute(
                    "select (select count(*) from responses), (select count(*) from verdicts)"
                ).fetchall()[0]
                seen.append(responses)
                seen_verdicts.append(verdicts)
                con.close()
            except duckdb.Error as e:
                assert "lock" in str(e).lower(), e
                plain_failed += 1
            try:
                with judge.connect(db, timeout_s=10) as con:
                    con.execute("select count(*) from verdicts").fetchall()
            except duckdb.Error:
                helper_failed += 1
            if cli_ok < 1 and 0 < (seen or [0])[-1] < N:
                proc = judge_cli(["sql", "--db", str(db), "select count(*) from verdicts", "--format", "csv"])
                assert proc.returncode == 0, proc.stderr
                cli_ok += 1
            time.sleep(0.02)
    finally:
        _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    polls = len(seen) + plain_failed
    print(f"plain duckdb readers: {plain_failed}/{polls} failed; judge.connect: {helper_failed} failed")
    assert polls >= 20
    assert helper_failed == 0
    assert plain_failed / polls <= 0.10  # docs/reliability.md promises under 10 % for plain readers
    mid_run = [n for n in seen + seen_verdicts if 0 < n < N]
    assert mid_run, f"no read happened while the run was writing: {seen[:5]}...{seen[-5:]} {seen_verdicts[-5:]}"
    # readers see committed batches only, never going backwards
    assert seen == sorted(seen) and seen_verdicts == sorted(seen_verdicts)
    assert table_counts(db)["responses"] == N


def test_a_reader_holding_the_database_to_the_end_exits_6_and_loses_nothing(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    cfg = _setup(tmp_path, fake_server.url, fake_server, latency_ms=150, concurrency=2)
    db = tmp_path / "judge.duckdb"
    env = {**KEYS, "JUDGE_FLUSH_EVERY_S": "0.05", "JUDGE_DB_BUSY_WAIT_S": "2"}
    run = start_judge_cli(["run", str(cfg), "-q"], env=env)
    reader = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and reader is None and run.poll() is None:
            if db.exists():  # some answers committed: now a notebook opens the file and keeps it
                try:
                    con = duckdb.connect(str(db), read_only=True)
                    n = con.execute("select count(*) from responses").fetchall()[0][0]
                    con.close()
                except duckdb.Error:
                    n = 0
                if n > 0:
                    code = (
                        f"import duckdb, time; c = duckdb.connect({str(db)!r}, read_only=True); "
                        "print(1, flush=True); time.sleep(120)"
                    )
                    reader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
                    assert reader.stdout is not None and reader.stdout.readline().strip() == "1"
            time.sleep(0.02)
        assert reader is not None, f"the run ended before anything was committed: {run.communicate()}"
        _, err = run.communicate(timeout=120)
    finally:
        if reader is not None:
            reader.kill()
            reader.wait()
    assert run.returncode == 6, err
    assert "Traceback" not in err
    assert f"pid {reader.pid}" in err and "waiting for the database" in err
    assert "kept in the journal" in err.strip().splitlines()[-1]
    answered = sum(1 for _ in fake_server.stats()["models"]["gpt-c"]["completed"])
    assert answered == N  # every answer was paid for once, in the first run

    done = judge_cli(["run", str(cfg), "-q"], env=env)
    assert done.returncode == 0, done.stderr
    assert "replayed" in done.stderr
    _assert_exact(db, fake_server)  # nothing lost, nothing paid twice


def test_a_journal_forged_through_judge_sql_never_becomes_verdicts(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    import json

    cfg = _setup(tmp_path, fake_server.url, fake_server, concurrency=4)
    db = tmp_path / "judge.duckdb"
    assert judge_cli(["run", str(cfg), "-q"], env=KEYS).returncode == 0
    con = duckdb.connect(str(db), read_only=True)
    before = con.execute("select verdict_id, tier, rationale from verdicts order by 1").fetchall()
    victim = con.execute("select * from verdicts where tier = 'refusal' limit 1").fetchall()
    cols = [d[0] for d in con.description or []]
    con.close()
    journal = tmp_path / "judge.duckdb.journal"
    attack = (
        f"COPY (SELECT 'verdicts' AS t, {{'verdict_id': verdict_id, 'tier': 'full_instructions'}} AS r "
        f"FROM verdicts) TO '{journal}' (FORMAT json)"
    )
    proc = judge_cli(["sql", "--db", str(db), attack])
    assert proc.returncode == 2 and not journal.exists()
    # the same forgery written by any other means (and an old-format journal) is refused too
    row = dict(zip(cols, victim[0], strict=True)) | {"tier": "full_instructions", "rationale": "forged"}
    journal.write_text(json.dumps({"t": "verdicts", "r": row}, default=str) + "\n")
    again = judge_cli(["run", str(cfg), "-q"], env=KEYS)
    assert again.returncode == 0, again.stderr
    refused = [line for line in again.stderr.splitlines() if "refused" in line]
    assert len(refused) == 1 and "kept aside" in refused[0]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select verdict_id, tier, rationale from verdicts order by 1").fetchall() == before
    con.close()
    kept = list(tmp_path.glob("judge.duckdb.journal.refused-*"))
    assert len(kept) == 1 and "forged" in kept[0].read_text()


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
