"""Measure built-in judge throughput on one core: prints "N verdicts/s".

Uses real responses from the shared labelled sets (`../shared/datasets`) when they exist, else
synthetic pairs (self-contained); it says which. `--synthetic` / `--shared` force one.

    taskset -c 0 python scripts/bench_builtin_judge.py [--n 3000] [--synthetic | --shared]
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
from train_builtin_judge import find_shared_datasets

from judge.judging.builtin import classify

DEFAULT_DATA = find_shared_datasets()
SHARED_FILES = ("gptfuzz_labeled.jsonl", "chatgpt_refusals.jsonl")


def shared_available(data: Path) -> bool:
    return all((data / name).is_file() for name in SHARED_FILES)


def pairs(n: int, shared: bool, data: Path) -> list[tuple[str, str]]:
    if shared:
        out: list[tuple[str, str]] = []
        for name in SHARED_FILES:
            with open(data / name, encoding="utf-8") as fh:
                out.extend((d["prompt"], d["response"]) for d in map(json.loads, fh))
        return list(itertools.islice(itertools.cycle(out[::3]), n))
    exs = generate(n // 4 + 1, seed=1)
    return [(e.prompt, e.response) for e in exs][:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=3000)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--shared", action="store_true", help="real responses from ../shared/datasets (the default)")
    src.add_argument("--synthetic", action="store_true", help="short template-generated pairs")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    if args.shared and not shared_available(args.data):
        ap.error(f"no shared sets in {args.data}")
    shared = not args.synthetic and shared_available(args.data)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    work = pairs(args.n, shared, args.data)
    classify(*work[0])  # load the model outside the timed loop
    start = time.perf_counter()
    for p, r in work:
        classify(p, r)
    elapsed = time.perf_counter() - start
    mean_chars = sum(len(r) for _, r in work) / len(work)
    source = f"real responses from {args.data}" if shared else "synthetic pairs"
    if not shared and not args.synthetic:
        source += " (shared sets not found)"
    print(f"{len(work) / elapsed:.0f} verdicts/s on one core ({len(work)} {source}, mean {mean_chars:.0f} chars)")


if __name__ == "__main__":
    main()
