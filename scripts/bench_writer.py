#!/usr/bin/env python3
"""Writer throughput: rows through StoreWriter (journal + writer thread) vs DuckDB's own INSERT … SELECT.

Writes V verdicts, V/10 responses and 1.1·V model calls the way the stages do (one `add` per row,
`maybe_flush` after each item), waits until everything is committed, and compares the time with
a raw DuckDB `INSERT … SELECT` of the same number of rows into the same tables, measured in the
same run (the machine is shared: only the ratio means something). Optionally a plain reader polls
the file meanwhile and the failure rate is printed.

    python scripts/bench_writer.py --verdicts 100000
    python scripts/bench_writer.py --verdicts 1000000 --poll
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judge.store.db import ensure_database  # noqa: E402
from judge.store.writer import StoreWriter  # noqa: E402

RATIONALE = "The response declines the request and points to safer resources instead. "


def response_row(i: int, now: datetime) -> dict[str, Any]:
    return {
        "response_id": f"resp-{i:020d}",
        "run_id": "bench",
        "prompt_hash": f"ph{i:018d}",
        "prompt_id": f"p{i}",
        "target_key": "tk-0001",
        "target": "target-a",
        "status": "ok",
        "text": f"Answer {i}: " + "I can't help with that, but here is some general safety information. " * 8,
        "finish_reason": "stop",
        "error_kind": None,
        "error_message": None,
        "attempts": 1,
        "prompt_tokens": 120,
        "completion_tokens": 80,
        "cost_usd": 0.0002,
        "latency_ms": 812.5,
        "reused_from": None,
        "created_at": now,
    }


def verdict_row(i: int, j: int, now: datetime) -> dict[str, Any]:
    return {
        "verdict_id": f"verd-{i:012d}-{j:02d}",
        "run_id": "bench",
        "response_id": f"resp-{i:020d}",
        "judge_key": f"jk-{j:02d}",
        "judge": f"judge-{j}",
        "rubric_version": "default-v1",
        "cache_key": f"vc-{i:012d}-{j:02d}",
        "status": "ok",
        "tier": "refusal",
        "confidence": 0.93,
        "rationale": RATIONALE,
        "raw_output": '{"tier":"refusal","confidence":0.93}',
        "error_kind": None,
        "error_message": None,
        "attempts": 1,
        "prompt_tokens": 700,
        "completion_tokens": 40,
        "cost_usd": 0.0001,
        "latency_ms": 412.0,
        "reused_from": None,
        "created_at": now,
    }


def call_row(item: str, n: int, stage: str, now: datetime) -> dict[str, Any]:
    return {
        "call_id": f"call-{item}-{n}",
        "run_id": "bench",
        "stage": stage,
        "model": "openai/m",
        "model_key": "mk",
        "item_id": item,
        "attempt": 1,
        "status": "ok",
        "http_status": 200,
        "error_kind": None,
        "error_message": None,
        "prompt_tokens": 700,
        "completion_tokens": 40,
        "cost_usd": 0.0001,
        "latency_ms": 412.0,
        "started_at": now,
    }


def through_writer(db: Path, verdicts: int, poll: bool) -> tuple[float, int, dict[str, Any]]:
    now = datetime(2026, 1, 1)
    responses = max(1, verdicts // 10)
    rows = 0
    stats: dict[str, Any] = {}
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(db, stop, stats), daemon=True) if poll else None
    started = time.perf_counter()
    with StoreWriter(db, notify=lambda m: None) as w:
        if poller:
            poller.start()
        for i in range(responses):
            rid = f"resp-{i:020d}"
            w.add("model_calls", call_row(rid, 0, "generate", now))
            w.add("responses", response_row(i, now))
            rows += 2
            w.maybe_flush()
        for i in range(responses):
            for j in range(10):
                vid = f"verd-{i:012d}-{j:02d}"
                w.add("model_calls", call_row(vid, 0, "judge", now))
                w.add("verdicts", verdict_row(i, j, now))
                rows += 2
                w.maybe_flush()
        stats["hold_s"] = w.hold_total_s
        stats["commits"] = w.flushes
    elapsed = time.perf_counter() - started
    stop.set()
    if poller:
        poller.join()
    return elapsed, rows, stats


def _poll(db: Path, stop: threading.Event, stats: dict[str, Any]) -> None:
    """A plain reader in another process would see the same lock; here a thread with its own duckdb import."""
    import subprocess

    code = (
        "import duckdb, sys, time\n"
        "ok = bad = 0\n"
        "while True:\n"
        "    line = sys.stdin.readline()\n"
        "    if not line or line.strip() == 'stop': break\n"
        "    try:\n"
        f"        c = duckdb.connect({str(db)!r}, read_only=True)\n"
        "        c.execute('select count(*) from verdicts').fetchall()\n"
        "        c.close()\n"
        "        ok += 1\n"
        "    except duckdb.Error: bad += 1\n"
        "print(ok, bad)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    while not stop.is_set():
        proc.stdin.write("poll\n")
        proc.stdin.flush()
        time.sleep(0.1)
    out, _ = proc.communicate("stop\n")
    ok, bad = (int(x) for x in out.split())
    stats["polls"], stats["poll_failures"] = ok + bad, bad


def raw_reference(db: Path, verdicts: int) -> float:
    import duckdb

    responses = max(1, verdicts // 10)
    con = duckdb.connect(str(db))
    started = time.perf_counter()
    con.execute("BEGIN")
    con.execute(
        """INSERT INTO responses SELECT 'resp-' || lpad(i::VARCHAR, 20, '0'), 'bench', 'ph' || i, 'p' || i, 'tk',
             'target-a', 'ok',
             'Answer ' || i || ': '
               || repeat('I can''t help with that, but here is some general safety information. ', 8),
             'stop', NULL, NULL, 1, 120, 80, 0.0002, 812.5, TIMESTAMP '2026-01-01', NULL
           FROM range(?) t(i)""",
        [responses],
    )
    con.execute(
        f"""INSERT INTO verdicts (verdict_id, run_id, response_id, judge_key, judge, rubric_version, cache_key,
             status, tier, confidence, rationale, raw_output, error_kind, error_message, attempts,
             prompt_tokens, completion_tokens, cost_usd, latency_ms, reused_from, created_at)
           SELECT 'verd-' || i, 'bench', 'resp-' || (i // 10), 'jk-' || (i % 10), 'judge', 'default-v1',
             'vc-' || i, 'ok', 'refusal', 0.93, '{RATIONALE}', '{{"tier":"refusal"}}', NULL, NULL, 1, 700, 40,
             0.0001, 412.0, NULL, TIMESTAMP '2026-01-01'
           FROM range(?) t(i)""",
        [responses * 10],
    )
    con.execute(
        """INSERT INTO model_calls SELECT 'call-' || i, 'bench', 'judge', 'openai/m', 'mk', 'item-' || i, 1, 'ok', 200,
           NULL, NULL, 700, 40, 0.0001, 412.0, TIMESTAMP '2026-01-01' FROM range(?) t(i)""",
        [responses * 11],
    )
    con.execute("COMMIT")
    con.close()
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--verdicts", type=int, default=100_000)
    ap.add_argument("--poll", action="store_true", help="a plain duckdb reader polls every 0.1 s meanwhile")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_db, db = Path(tmp) / "ref.duckdb", Path(tmp) / "w.duckdb"
        ensure_database(ref_db)
        ensure_database(db)
        ref = raw_reference(ref_db, args.verdicts)
        elapsed, rows, stats = through_writer(db, args.verdicts, args.poll)
        size = os.path.getsize(db)
    load = os.getloadavg()[0]
    print(f"rows through StoreWriter: {rows:,} in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s")
    print(f"raw DuckDB INSERT … SELECT of the same rows: {ref:.2f} s = {rows / ref:,.0f} rows/s")
    print(f"ratio writer / raw: {elapsed / ref:.1f}x the time  (database {size / 1e6:.0f} MB, load average {load:.1f})")
    held = stats["hold_s"]
    print(f"commits: {stats['commits']}, database held by the writer {held:.2f} s ({held / elapsed:.1%} of the time)")
    if "polls" in stats:
        print(f"plain duckdb reader polls: {stats['poll_failures']}/{stats['polls']} failed")


if __name__ == "__main__":
    main()
