#!/usr/bin/env python3
"""Client CPU per model call through the whole pipeline, against the loopback fake server.

    .venv/bin/python scripts/bench_pipeline.py --prompts 400

Runs N prompts x 1 target x 1 LLM judge (OpenAI protocol, litellm -> instructor -> HTTP) with the
fake server in another process, and prints wall time, calls/s and this process's CPU ms per call
for each stage. The per-call floor measured here: instructor over litellm ~9 ms, the openai SDK
~3 ms, bare HTTP ~0.3 ms; judge's own bookkeeping should add little on top.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pipeline_helpers import openai_model, write_config, write_prompts  # noqa: E402

from judge.pipeline import execute, plan_run  # noqa: E402
from judge.stages.progress import NullProgress  # noqa: E402


class Timing(NullProgress):
    def __init__(self) -> None:
        self.marks: dict[str, tuple[float, float, int]] = {}
        self.done: dict[str, int] = {}

    def start(self, stage: str, total: int, done: int) -> None:
        self.marks[stage] = (time.perf_counter(), time.process_time(), 0)
        self.done[stage] = 0

    def advance(self, stage: str, *, error: bool, cost_usd: float | None) -> None:
        self.done[stage] += 1

    def finish(self, stage: str) -> None:
        wall0, cpu0, _ = self.marks[stage]
        self.marks[stage] = (time.perf_counter() - wall0, time.process_time() - cpu0, self.done[stage])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    os.environ["FAKE_OPENAI_KEY"] = "sk-bench-0000"
    cfg_json = json.dumps({"models": {"gpt-b": {"role": "target"}, "judge-b": {"role": "judge"}}})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "server.json").write_text(cfg_json)
        server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts" / "fake_model_server.py"),
                "--port",
                "0",
                "--config",
                str(folder / "server.json"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = next(w for w in server.stdout.readline().split() if w.startswith("http://")).rstrip("/")
            write_prompts(folder, args.prompts)
            opts = {"concurrency": args.concurrency, "timeout_s": 30}
            cfg = write_config(
                folder, url, targets=[openai_model(url, "gpt-b", **opts)], judges=[openai_model(url, "judge-b", **opts)]
            )
            plan = plan_run(cfg)
            import judge.providers.litellm_backend as lb

            lb.instructor_client()  # imports outside the timed stages
            timing = Timing()
            execute(plan, progress=timing)
        finally:
            server.terminate()
    for stage, (wall, cpu, n) in timing.marks.items():
        print(
            f"{stage:9s} {n:5d} calls  {wall:6.2f} s wall  {n / wall:7.1f} calls/s  "
            f"{cpu * 1000 / max(n, 1):6.2f} ms client CPU per call"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
