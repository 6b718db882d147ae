#!/usr/bin/env python3
"""Streaming prompt loading: peak RSS and time to the first model call for a large prompt file.

    .venv/bin/python scripts/bench_prompt_loading.py --prompts 300000

Writes N prompts (about 290 bytes a line) to a temporary JSONL file, starts the fake model server
(tests/fake_server) on 127.0.0.1, and runs the real `judge run` in a subprocess with
`max_calls: 5` against it. Prints the child's peak RSS (ru_maxrss) and the seconds from process
start until the server saw the first request, for the large file and for a 100-prompt reference
file run the same way in the same invocation (start-up cost: Python, litellm import, database),
with the ratios. The machine is shared and noisy: compare the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fake model server (tests/fake_server)

INTENTS = ("safe", "unsafe", "adversarial")


def write_prompts(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            intent = INTENTS[i % 3]
            row: dict[str, object] = {
                "id": f"p{i:07d}",
                "prompt": f"Question {i}: " + "please explain the topic in some detail " * 5,
                "taxonomy": ["hate", f"sub{i % 7}"],
                "intent": intent,
                "metadata": {"source": "bench", "n": i},
            }
            if intent == "adversarial":
                row["technique"] = "role_play"
            fh.write(json.dumps(row) + "\n")


def run_once(folder: Path, n: int, server: object) -> dict[str, float]:
    folder.mkdir(parents=True, exist_ok=True)
    prompts = folder / "prompts.jsonl"
    write_prompts(prompts, n)
    url = server.url  # type: ignore[attr-defined]
    cfg = {
        "name": "bench",
        "prompts": str(prompts),
        "rubric": str(ROOT / "rubrics" / "default.yaml"),
        "db": str(folder / "judge.duckdb"),
        "targets": [{"model": "openai/gpt-bench", "api_base": url + "/v1", "api_key_env": "BENCH_KEY"}],
        "judges": [{"model": "builtin/judge"}],
        "budget": {"max_calls": 5},
    }
    (folder / "run.yaml").write_text(json.dumps(cfg))
    server.reset()  # type: ignore[attr-defined]
    env = {**os.environ, "BENCH_KEY": "sk-bench-0000", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    first: list[float] = []
    done = threading.Event()

    def watch(t0: float) -> None:
        while not done.is_set():
            if server.stats()["total_requests"] > 0:  # type: ignore[attr-defined]
                first.append(time.monotonic() - t0)
                return
            time.sleep(0.01)

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    watcher = threading.Thread(target=watch, args=(t0,), daemon=True)
    watcher.start()
    proc = subprocess.run(
        [sys.executable, "-m", "judge", "run", str(folder / "run.yaml"), "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    wall = time.monotonic() - t0
    done.set()
    watcher.join()
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 5):
        raise SystemExit(f"judge run exited {proc.returncode}: {proc.stderr[-2000:]}")
    return {
        "prompts": n,
        "file_mb": prompts.stat().st_size / 1e6,
        "exit_code": proc.returncode,
        # ru_maxrss of children is the largest child so far: only meaningful when it grew
        "peak_rss_mb": max(peak_kb, before) / 1024,
        "first_call_s": first[0] if first else float("nan"),
        "wall_s": wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=300_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import fake_server as fake

    server = fake.FakeModelServer({"models": {"gpt-bench": {"role": "target"}}}, host="127.0.0.1", port=0)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="judge-bench-load-") as tmp:
            ref = run_once(Path(tmp) / "ref", 100, server)  # first: ru_maxrss only grows
            big = run_once(Path(tmp) / "big", args.prompts, server)
    finally:
        server.stop()
    result = {
        "reference": ref,
        "large": big,
        "first_call_ratio": big["first_call_s"] / ref["first_call_s"],
        "rss_ratio": big["peak_rss_mb"] / ref["peak_rss_mb"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for label, r in (("reference", ref), ("large", big)):
        print(
            f"{label:>9}: {r['prompts']:>8,} prompts ({r['file_mb']:.1f} MB)  peak RSS {r['peak_rss_mb']:.0f} MB  "
            f"first call after {r['first_call_s']:.2f} s  wall {r['wall_s']:.1f} s  exit {r['exit_code']}"
        )
    print(f"ratios large/reference: first call {result['first_call_ratio']:.2f}x, peak RSS {result['rss_ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
