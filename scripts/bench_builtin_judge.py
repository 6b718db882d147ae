"""Measure built-in judge throughput on one core: prints "N verdicts/s".

Uses synthetic pairs by default (self-contained); `--shared` benchmarks real responses from the
shared sets instead (longer, more realistic).

    python scripts/bench_builtin_judge.py [--n 3000] [--shared]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from builtin_judge_synthetic import generate

from judge.judging.builtin import classify

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def pairs(n: int, shared: bool, data: Path) -> list[tuple[str, str]]:
    if shared:
        out: list[tuple[str, str]] = []
        for name in ("gptfuzz_labeled.jsonl", "chatgpt_refusals.jsonl"):
            with open(data / name, encoding="utf-8") as fh:
                out.extend((d["prompt"], d["response"]) for d in map(json.loads, fh))
        return list(itertools.islice(itertools.cycle(out[::3]), n))
    exs = generate(n // 4 + 1, seed=1)
    return [(e.prompt, e.response) for e in exs][:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--shared", action="store_true", help="use responses from ../shared/datasets")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    work = pairs(args.n, args.shared, args.data)
    classify(*work[0])  # load the model outside the timed loop
    start = time.perf_counter()
    for p, r in work:
        classify(p, r)
    elapsed = time.perf_counter() - start
    mean_chars = sum(len(r) for _, r in work) / len(work)
    print(f"{len(work) / elapsed:.0f} verdicts/s ({len(work)} pairs, mean {mean_chars:.0f} chars, one core)")


if __name__ == "__main__":
    main()
