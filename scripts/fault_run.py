#!/usr/bin/env python3
"""Reliability benchmark: a faulty provider, then a rerun; prints the accounting.

    .venv/bin/python scripts/fault_run.py --prompts 500

Starts the fault-injecting server (tests/fake_server) on 127.0.0.1 with 20% 429s,
5% 500s, 2% malformed bodies and 1% hangs, runs N prompts x 2 targets (OpenAI and Anthropic
protocols) x 1 LLM judge through litellm and instructor, then reruns the same run with the faults
off and checks that every item ended as a response/verdict or an error with a reason, that the
rerun finished the retriable ones, and that no completed call was asked twice.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import duckdb  # noqa: E402
from pipeline_helpers import anthropic_model, openai_model, write_config, write_prompts  # noqa: E402

from judge.pipeline import execute, plan_run  # noqa: E402

FAULTS = {"rate_limit": 0.20, "retry_after_s": 0.05, "server_error": 0.05, "malformed": 0.02, "hang": 0.01, "hang_s": 6}


def models(faults: dict[str, float] | None) -> dict[str, object]:
    f = {"faults": faults} if faults else {}
    return {
        "seed": 11,
        "models": {
            "gpt-f": {"role": "target", "responder": "by_intent", **f},
            "claude-f": {"role": "target", "responder": "comply_all", **f},
            "judge-f": {"role": "judge", **f},
        },
    }


def q(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["FAKE_OPENAI_KEY"] = "sk-fault-run-0000"
    os.environ["FAKE_ANTHROPIC_KEY"] = "sk-ant-fault-run-0000"
    import fake_server as fms

    with tempfile.TemporaryDirectory() as tmp, fms.FakeModelServer(models(FAULTS)) as server:  # type: ignore[attr-defined]
        folder = Path(tmp)
        url = server.url
        write_prompts(folder, args.prompts)
        opts = {"timeout_s": 3, "max_attempts": 4, "concurrency": args.concurrency}
        cfg = write_config(
            folder,
            url,
            targets=[openai_model(url, "gpt-f", **opts), anthropic_model(url, "claude-f", **opts)],
            judges=[openai_model(url, "judge-f", **opts)],
        )
        db = folder / "judge.duckdb"
        t0 = time.monotonic()
        first = execute(plan_run(cfg))
        t1 = time.monotonic()
        after_first = {
            "responses": dict(q(db, "select status, count(*) from responses group by 1")),
            "verdicts": dict(q(db, "select status, count(*) from verdicts group by 1")),
            "unexplained_errors": q(
                db,
                "select count(*) from (select error_kind from responses where status='error' "
                "union all select error_kind from verdicts where status='error') "
                "where error_kind is null",
            )[0][0],
            "call_errors": dict(q(db, "select error_kind, count(*) from model_calls where status='error' group by 1")),
        }
        server.set_config(models(None))
        second = execute(plan_run(cfg))
        t2 = time.monotonic()
        stats = server.stats()["models"]
        result = {
            "prompts": args.prompts,
            "first_run": {"status": first.status, "seconds": round(t1 - t0, 1), **after_first},
            "rerun": {
                "status": second.status,
                "same_run": second.run_id == first.run_id,
                "seconds": round(t2 - t1, 1),
                "responses": dict(q(db, "select status, count(*) from responses group by 1")),
                "verdicts": dict(q(db, "select status, count(*) from verdicts group by 1")),
            },
            "server": {
                name: {
                    "requests": s["requests"],
                    "completed_keys": len(s["completed"]),
                    "completed_total": sum(s["completed"].values()),
                    "max_completions_per_key": max(s["completed"].values(), default=0),
                }
                for name, s in stats.items()
            },
            "verdicts_graded_by_calls": q(db, "select count(*) from verdicts where reused_from is null")[0][0],
        }
    print(json.dumps(result, indent=2, default=str))
    ok = (
        result["rerun"]["status"] == "complete"
        and after_first["unexplained_errors"] == 0
        and all(result["server"][t]["max_completions_per_key"] == 1 for t in ("gpt-f", "claude-f"))
        and result["server"]["judge-f"]["completed_total"] == result["verdicts_graded_by_calls"]
    )
    print("OK" if ok else "FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
