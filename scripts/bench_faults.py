#!/usr/bin/env python3
"""Throughput under provider faults: the same run with and without the fault mix, as a ratio.

    .venv/bin/python scripts/bench_faults.py                 # 1500 prompts, concurrency 32, 200 ms server
    .venv/bin/python scripts/bench_faults.py --prompts 300 --repeat 1

The fault mix of issue 12: 20 % 429 with `Retry-After: 1`, 5 % 500, 2 % malformed bodies and 1 %
hangs (the client's timeout_s ends them). N prompts x 1 OpenAI-protocol target x 1 LLM judge run
against scripts/fake_model_server.py in another process (pinned to another core when possible),
first fault-free, then with the faults, at the same concurrency (interleaved when --repeat > 1;
medians). Prints both wall times, the ratio (target: within 2x), the faulted run's accounting and
the flow-control counters (AIMD cuts, model-wide pauses).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pipeline_helpers import load_script, openai_model, query, write_config, write_prompts  # noqa: E402

FAULTS = {"rate_limit": 0.20, "retry_after_s": 1.0, "server_error": 0.05, "malformed": 0.02, "hang": 0.01}


def server_config(faults: dict[str, float] | None, latency_ms: float, hang_s: float) -> dict[str, Any]:
    f = {"faults": {**faults, "hang_s": hang_s}} if faults else {}
    return {
        "seed": 5,
        "latency_ms": latency_ms,
        "models": {"gpt-f": {"role": "target", "responder": "by_intent", **f}, "judge-f": {"role": "judge", **f}},
    }


def set_config(url: str, cfg: dict[str, Any]) -> None:
    req = urllib.request.Request(url + "/_config", data=json.dumps(cfg).encode(), method="POST")
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200


def one_run(folder: Path, url: str, args: argparse.Namespace, faults: bool) -> dict[str, Any]:
    from judge.pipeline import execute, plan_run

    folder.mkdir()
    set_config(url, server_config(FAULTS if faults else None, args.latency_ms, args.timeout_s * 2))
    write_prompts(folder, args.prompts)
    opts = {"timeout_s": args.timeout_s, "max_attempts": 4, "concurrency": args.concurrency}
    cfg = write_config(
        folder, url, targets=[openai_model(url, "gpt-f", **opts)], judges=[openai_model(url, "judge-f", **opts)]
    )
    plan = plan_run(cfg)
    t0 = time.perf_counter()
    outcome = execute(plan)
    wall = time.perf_counter() - t0
    db = folder / "judge.duckdb"
    flow = {}
    for model in (*plan.targets, *plan.judges):
        stats = model.replicas.replicas[0].stats  # type: ignore[attr-defined]
        flow[model.spec.name] = dict(stats)
    return {
        "wall_s": wall,
        "status": outcome.status,
        "responses_ok": query(db, "select count(*) from responses where status = 'ok'")[0][0],
        "verdicts_ok": query(db, "select count(*) from verdicts where status = 'ok'")[0][0],
        "errors_left": outcome.counts["response_errors"] + outcome.counts["verdict_errors"],
        "calls_by_kind": dict(query(db, "select coalesce(error_kind, 'ok'), count(*) from model_calls group by 1")),
        "flow": flow,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=1500)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--timeout-s", type=float, default=3.0, help="client timeout (ends the hangs)")
    ap.add_argument("--repeat", type=int, default=1, help="interleaved pairs of runs (medians are reported)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["FAKE_OPENAI_KEY"] = "sk-bench-faults-0000"
    bench = load_script("bench_pipeline")
    clean: list[dict[str, Any]] = []
    faulty: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        server, url = bench.start_server("threaded", args.latency_ms, Path(tmp))
        try:
            for i in range(args.repeat):
                clean.append(one_run(Path(tmp) / f"clean{i}", url, args, faults=False))
                faulty.append(one_run(Path(tmp) / f"faults{i}", url, args, faults=True))
        finally:
            server.terminate()
    t_clean = statistics.median(r["wall_s"] for r in clean)
    t_faulty = statistics.median(r["wall_s"] for r in faulty)
    summary = {
        "prompts": args.prompts,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "fault_free_s": round(t_clean, 2),
        "with_faults_s": round(t_faulty, 2),
        "ratio": round(t_faulty / t_clean, 2),
        "load_average": os.getloadavg(),
        "faulted_run": faulty[-1],
    }
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    last = faulty[-1]
    print(
        f"{args.prompts} prompts x 1 target x 1 judge, concurrency {args.concurrency}, "
        f"server {args.latency_ms:g} ms, load average {summary['load_average'][0]:.2f}"
    )
    print(f"fault-free   {t_clean:7.2f} s")
    print(f"with faults  {t_faulty:7.2f} s   ratio {t_faulty / t_clean:.2f} (target <= 2)")
    print(
        f"faulted run: {last['status']}, {last['responses_ok']} answers and {last['verdicts_ok']} verdicts ok, "
        f"{last['errors_left']} errors left; calls {last['calls_by_kind']}"
    )
    for name, stats in last["flow"].items():
        print(f"  {name}: {stats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
