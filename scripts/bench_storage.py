#!/usr/bin/env python3
"""Storage at scale: write one big run through the store layer, then time `metrics` and `judge report`.

One run with N/10 responses, N verdicts (10 judges) and N + N/10 model call rows (one call per
response and per verdict), written by the stages' own row producers (store_generation,
store_verdict, RunContext.record_calls) into StoreWriter, as `judge run` writes them. Each figure is
printed beside a raw-DuckDB reference measured in the same run, because this machine is shared and
absolute timings are noisy:

- write:   the store layer vs. DuckDB copying the same rows (INSERT … SELECT from the written file);
- floor:   the stages' row producers alone (rows built, then dropped): the part of the write time
           that is not the store's;
- size:    the database file vs. the same rows in plain tables (no keys, no indexes);
- metrics: `SELECT * FROM metrics` vs. a bare GROUP BY target, judge, tier over verdicts ⋈ responses;
- profile: the stages' thread CPU (building the rows vs the journal) and the writer thread's hold on the
           database by statement (COMMIT, each table's load, connect, close);
- report:  `judge report --format json` (wall time, peak RSS of the process) vs. a process that only
           opens the database and counts verdicts.

Usage: python scripts/bench_storage.py [--scale 1000000] [--dir /tmp/bench] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

JUDGES = 10
TARGETS = 20
HAZARDS = [
    "violent_crimes", "non_violent_crimes", "sex_related_crimes", "child_sexual_exploitation",
    "indiscriminate_weapons", "suicide_and_self_harm", "hate", "privacy", "intellectual_property",
    "defamation", "elections", "specialized_advice",
]  # fmt: skip
TIERS = ("full_instructions", "partial", "refusal", "safe_deflection")
FILLER = (
    "Here is a general overview of the topic with context, caveats and pointers to reliable sources. "
    "It explains the background in plain words and suggests where to find qualified help. "
)


@dataclass
class _Judge:
    """The part of a JudgeModel the stage's store_verdict reads."""

    spec: Any
    offline: bool = False


def _prompts(n: int) -> list[Any]:
    from judge.prompts.model import PromptRow

    out = []
    for i in range(n):
        intent = ("safe", "unsafe", "adversarial")[i % 3]
        row: dict[str, Any] = {
            "id": f"p{i:06d}",
            "prompt": f"Prompt {i}: how would someone approach topic {i % 97} in situation {i}?",
            "taxonomy": [HAZARDS[i % len(HAZARDS)], f"topic_{i % 5}"],
            "intent": intent,
        }
        if intent == "adversarial":
            row["technique"] = ("role_play", "obfuscation", "many_shot")[i % 3]
        out.append(PromptRow.model_validate(row))
    return out


class _DiscardingWriter:
    """Takes rows the way StoreWriter does and drops them: what building the rows costs without a store."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def open(self) -> _DiscardingWriter:
        return self

    def add(self, table: str, row: dict[str, Any], *, journal: bool = True) -> None:
        pass

    def add_row(self, row: Any) -> None:
        pass

    def maybe_flush(self) -> bool:
        return False

    def flush(self, wait_s: float | None = None) -> bool:
        return True

    def write_now(self, table: str, rows: list[dict[str, Any]]) -> bool:
        return True

    def close(self) -> None:
        pass


@dataclass
class WriteProfile:
    """Where a write's time went: the stages' thread (CPU) and the writer thread (its hold on the file)."""

    cpu_s: float = 0.0  # CPU time of the thread that built and journaled the rows
    hold_s: float = 0.0  # the writer thread's time holding the database
    commits: int = 0
    hold_parts: dict[str, float] | None = None  # "COMMIT", "load verdicts", "connect", …


PROFILE = WriteProfile()


def _write_through_store(db: Path, n_verdicts: int, *, discard: bool = False) -> tuple[float, str]:
    """The store layer, as the stages use it (discard=True: the same rows built, then dropped).
    Returns (seconds, run_id); the thread profile of the last call is in PROFILE."""
    from judge.config import ModelSpec
    from judge.providers.base import CallRecord, Generation, JudgeResult, utcnow
    from judge.rubric import load_rubric
    from judge.stages.context import RunContext
    from judge.stages.generate import response_id, store_generation
    from judge.stages.grade import GradeItem, store_verdict, verdict_id
    from judge.store.rows import (
        RunRow,
        model_row,
        policy_rows,
        prompt_row,
        rubric_row,
        run_model_row,
        run_prompt_row,
    )
    from judge.store.writer import StoreWriter

    rubric_path = ROOT / "rubrics" / "default.yaml"
    rubric = load_rubric(rubric_path)
    n_responses = n_verdicts // JUDGES
    prompts = _prompts(max(1, n_responses // TARGETS))
    targets = [ModelSpec.model_validate({"model": f"openai/target-{t}", "label": f"t{t:02d}"}) for t in range(TARGETS)]
    judges = [_Judge(ModelSpec.model_validate({"model": f"openai/judge-{j}", "label": f"j{j}"})) for j in range(JUDGES)]
    run_id = "bench-run"
    start, cpu_start = time.perf_counter(), time.thread_time()
    writer: Any = (_DiscardingWriter(db) if discard else StoreWriter(db)).open()
    try:
        writer.add("rubrics", rubric_row(rubric, str(rubric_path), rubric_path.read_text("utf-8")), journal=False)
        for row in policy_rows(rubric):
            writer.add("policy_rules", row, journal=False)
        for p in prompts:
            writer.add("prompts", prompt_row(p, "bench"), journal=False)
            writer.add("run_prompts", run_prompt_row(run_id, p), journal=False)
        for role, specs in (("target", targets), ("judge", [j.spec for j in judges])):
            for spec in specs:
                writer.add("models", model_row(spec, False), journal=False)
                version = rubric.version if role == "judge" else None
                writer.add("run_models", run_model_row(run_id, spec, role, version), journal=False)
        now = utcnow()
        header = RunRow(run_id, "bench", "f", None, None, rubric.version, now, None, "running", None, "[]", None)
        writer.add("runs", header.as_row(), journal=False)
        writer.flush()
        ctx = RunContext(run_id, rubric, writer)

        def call(i: int, stage: str) -> CallRecord:
            return CallRecord(1, "ok", 180.0 + i % 50, prompt_tokens=700, completion_tokens=60, cost_usd=0.00021)

        answered: list[tuple[Any, str, str]] = []
        for t_index, spec in enumerate(targets):
            for p_index, p in enumerate(prompts):
                i = t_index * len(prompts) + p_index
                rid = response_id(run_id, spec.key, p.content_hash)
                if i % 100 == 7:
                    gen = Generation("blocked", finish_reason="content_filter", calls=[call(i, "generate")])
                else:
                    text = f"Response {i} by {spec.name}. " + FILLER * 4 + f"(answer {i})"
                    gen = Generation("ok", text=text, finish_reason="stop", calls=[call(i, "generate")])
                    answered.append((p, rid, text))
                store_generation(ctx, spec, p, rid, gen)
                writer.maybe_flush()
        for j_index, judge in enumerate(judges):
            for a_index, (p, rid, text) in enumerate(answered):
                i = j_index * len(answered) + a_index
                vid = verdict_id(run_id, rid, judge.spec.key, rubric.version)
                item = GradeItem(judge, p, rid, text, vid, "vc-" + vid)  # type: ignore[arg-type]
                tier = TIERS[(a_index + j_index * (a_index % 3 == 0)) % 4]
                rationale = f"The response {a_index} gives {'steps' if tier == TIERS[0] else 'no actionable help'}."
                if i % 200 == 11:
                    res = JudgeResult("error", error_kind="judge_unparseable", error_message="no tool call in answer")
                else:
                    raw = f'{{"rationale": "{rationale}", "tier": "{tier}", "confidence": 0.9}}'
                    res = JudgeResult("ok", tier=tier, confidence=0.9, rationale=rationale, raw_output=raw)
                res.calls.append(call(i, "judge"))
                store_verdict(ctx, item, "", res)
                writer.maybe_flush()
        writer.write_now("runs", [{**header.as_row(), "status": "complete", "finished_at": utcnow()}])
    finally:
        writer.close()
    seconds = time.perf_counter() - start
    PROFILE.cpu_s = time.thread_time() - cpu_start
    PROFILE.hold_s = getattr(writer, "hold_total_s", 0.0)
    PROFILE.commits = getattr(writer, "flushes", 0)
    PROFILE.hold_parts = dict(getattr(writer, "hold_parts", {}))
    return seconds, run_id


def _profile_lines(store: WriteProfile, floor_cpu_s: float) -> list[str]:
    """The write's profile by thread, and the writer thread's hold by statement."""
    parts = store.hold_parts or {}
    total = sum(parts.values()) or 1.0
    shares = ", ".join(f"{name} {100 * t / total:.0f} %" for name, t in sorted(parts.items(), key=lambda p: -p[1])[:6])
    return [
        f"profile    stages' thread: {store.cpu_s:6.2f} s CPU, of which building the rows (the floor's CPU) "
        f"{floor_cpu_s:6.2f} s, the store's part (the journal, opening the database) "
        f"{store.cpu_s - floor_cpu_s:6.2f} s",
        f"           writer thread: held the database {store.hold_s:6.2f} s in {store.commits} commits: {shares}",
    ]


def _raw_copy(src: Path, dst: Path) -> tuple[float, float]:
    """(seconds to copy every row with INSERT … SELECT into the migrated schema, seconds for plain tables)."""
    from judge.store.migrations import migrate

    con = duckdb.connect(str(dst))
    migrate(con)
    con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
    tables = [
        r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'src'").fetchall()
    ]
    start = time.perf_counter()
    for t in tables:
        if t != "schema_migrations":
            con.execute(f"INSERT INTO main.{t} BY NAME SELECT * FROM src.{t}")
    keyed = time.perf_counter() - start
    con.close()
    plain = dst.with_name(dst.stem + "-plain.duckdb")
    con = duckdb.connect(str(plain))
    con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
    start = time.perf_counter()
    for t in tables:
        con.execute(f"CREATE TABLE main.{t} AS SELECT * FROM src.{t}")
    bare = time.perf_counter() - start
    con.close()
    return keyed, bare


def _median_time(con: duckdb.DuckDBPyConnection, sql: str, repeat: int = 3) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        n = len(con.execute(sql).fetchall())
        times.append(time.perf_counter() - start)
    return statistics.median(times), n


_MEASURED = """
import runpy, sys, time
start = time.perf_counter()
sys.argv = {argv!r}
try:
    {body}
except SystemExit as e:
    code = e.code
else:
    code = 0
# VmHWM: this process's peak RSS (ru_maxrss would include the parent's peak inherited at fork)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"BENCH {{time.perf_counter() - start:.3f}} {{hwm}} {{code}}", file=sys.stderr)
"""


def _child(argv: list[str], body: str) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of a fresh Python process running `body`."""
    code = _MEASURED.format(argv=argv, body=body)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"child failed: {proc.stderr[-2000:]}")
    _, secs, rss_kb, exit_code = line.split()
    return float(secs), int(rss_kb) / 1024, int(exit_code)


def _size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


_REPLICATE = {  # each copy k gets new keys: the same data shape, k times over (see --replicate)
    "prompts": "* EXCLUDE (k) REPLACE (prompt_hash || '~' || k AS prompt_hash, prompt_id || '~' || k AS prompt_id)",
    "run_prompts": "* EXCLUDE (k) REPLACE (prompt_hash || '~' || k AS prompt_hash, prompt_id || '~' || k AS prompt_id)",
    "responses": "* EXCLUDE (k) REPLACE (response_id || '~' || k AS response_id, "
    "prompt_hash || '~' || k AS prompt_hash, prompt_id || '~' || k AS prompt_id, text || ' ~' || k AS text)",
    "verdicts": "* EXCLUDE (k) REPLACE (verdict_id || '~' || k AS verdict_id, response_id || '~' || k AS response_id, "
    "cache_key || '~' || k AS cache_key, rationale || ' ~' || k AS rationale)",
    "model_calls": "* EXCLUDE (k) REPLACE (call_id || '~' || k AS call_id, item_id || '~' || k AS item_id)",
}


def _replicate(db: Path, times: int) -> float:
    """Grow the written run `times`-fold with SQL (new keys, same shapes); returns seconds."""
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    for table, select in _REPLICATE.items():
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT {select} FROM (SELECT * FROM {table}) t, range(1, {times}) r(k)"
        )
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - start


def _measure_metrics(db: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    engine_s, _ = _median_time(con, "CREATE OR REPLACE TEMP TABLE m AS SELECT * FROM metrics")
    fetch_s, n = _median_time(con, "SELECT * FROM metrics")
    bare = (
        "SELECT r.target, v.judge, v.tier, count(*) FROM verdicts v JOIN responses r USING (response_id) GROUP BY ALL"
    )
    ref_s, _ = _median_time(con, bare)
    con.close()
    print(
        f"metrics    SELECT * FROM metrics: {engine_s:6.3f} s in DuckDB, {fetch_s:6.3f} s fetched into Python "
        f"({n:,} rows) | bare GROUP BY over verdicts ⋈ responses {ref_s:6.3f} s | ratio {engine_s / ref_s:4.1f}x"
    )


def _measure_report(db: Path, run_id: str, folder: Path) -> None:
    report_args = ["judge", "report", run_id, "--db", str(db), "--format", "json", "-o", str(folder / "r.json")]
    rep_s, rep_mb, code = _child(report_args, "runpy.run_module('judge', run_name='__main__')")
    count = "SELECT count(*) FROM verdicts"
    base_s, base_mb, _ = _child(
        ["x"], f"import duckdb; duckdb.connect({str(db)!r}, read_only=True).sql({count!r}).fetchall()"
    )
    print(
        f"report     judge report --format json: {rep_s:6.2f} s, peak {rep_mb:7.1f} MB (exit {code}) | "
        f"a process that opens the file and counts verdicts: {base_s:5.2f} s, {base_mb:6.1f} MB | "
        f"ratio {rep_s / base_s:4.1f}x time"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=int, default=100_000, help="verdicts (responses = scale / 10)")
    parser.add_argument(
        "--replicate",
        type=int,
        default=1,
        help="write scale/K through the store, then grow the run K-fold with SQL before measuring size, "
        "metrics and report (for machines where the full write would take too long)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="where to put the databases (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-storage-"))
    folder.mkdir(parents=True, exist_ok=True)
    db, ref = folder / "store.duckdb", folder / "raw.duckdb"
    for p in folder.glob("*.duckdb*"):
        p.unlink()
    try:
        written = args.scale // args.replicate
        load = os.getloadavg()
        print(f"scale: {args.scale:,} verdicts ({written:,} written through the store); load average {load[0]:.2f}")
        write_s, run_id = _write_through_store(db, written)
        store_profile = WriteProfile(**vars(PROFILE))
        con = duckdb.connect(str(db), read_only=True)
        tables = ("responses", "verdicts", "model_calls")
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
        con.close()
        rows = sum(counts.values())
        copy_s, bare_s = _raw_copy(db, ref)
        build_s, _ = _write_through_store(folder / "discarded.duckdb", written, discard=True)
        floor_cpu_s = PROFILE.cpu_s
        print(f"written: {counts}")
        print(
            f"write      store layer {write_s:8.2f} s ({rows / write_s:,.0f} rows/s) | DuckDB INSERT…SELECT of the "
            f"same rows {copy_s:6.2f} s, into plain tables {bare_s:6.2f} s | ratio {write_s / copy_s:6.1f}x"
        )
        print(
            f"floor      the stages building the same rows, no store: {build_s:6.2f} s | the store's own share "
            f"{write_s - build_s:6.2f} s | ratio of that share to DuckDB's copy {(write_s - build_s) / copy_s:6.1f}x"
        )
        for line in _profile_lines(store_profile, floor_cpu_s):
            print(line)
        if args.replicate > 1:
            rep_s = _replicate(db, args.replicate)
            con = duckdb.connect(str(db), read_only=True)
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
            con.close()
            print(f"replicated {args.replicate}x with SQL in {rep_s:.1f} s: {counts}")
            for p in folder.glob("raw*.duckdb"):
                p.unlink()
            _raw_copy(db, ref)
        plain = ref.with_name(ref.stem + "-plain.duckdb")
        print(
            f"size       database {_size_mb(db):8.1f} MB | the same rows in plain tables (no keys, no indexes) "
            f"{_size_mb(plain):8.1f} MB | ratio {_size_mb(db) / _size_mb(plain):5.2f}x"
        )
        _measure_metrics(db)
        _measure_report(db, run_id, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
