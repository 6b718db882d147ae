"""Measure built-in judge throughput on one core: prints "N verdicts/s", or a ratio against another checkout.

Uses real responses from the shared labelled sets (`../shared/datasets`) when they exist, else
synthetic pairs (self-contained); it says which. `--synthetic` / `--shared` force one.

    taskset -c 0 python scripts/bench_builtin_judge.py [--n 3000] [--synthetic | --shared]
    taskset -c 1 python scripts/bench_builtin_judge.py --against /work/main [--rounds 4] [--chunk 250]

`--against PATH` times this checkout's judge (A) and the one in PATH (B, another clone or worktree)
on the same pairs, in two worker processes of this interpreter that differ only in `PYTHONPATH`, both
pinned to the same core. They judge the pairs in alternating chunks (ABBA), each timing its own CPU
time, so load that drifts during the run hits both alike; every pass over the pairs prints A's and B's
rate, A/B speed and the load average, then the median ratio. Absolute figures on a shared machine are
noisy; a ratio measured this way is not. The first pass is cold (per-prompt and token memos empty),
later passes warm.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from builtin_judge_synthetic import generate  # noqa: E402
from train_builtin_judge import find_shared_datasets  # noqa: E402

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


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def time_pairs(work: list[tuple[str, str]], repeat: int) -> float:
    """Verdicts/s of the fastest of `repeat` passes over `work` with `judge.judging.builtin.classify`."""
    from judge.judging.builtin import classify

    classify(*work[0])  # load the model outside the timed loop
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for p, r in work:
            classify(p, r)
        best = min(best, time.perf_counter() - start)
    return len(work) / best


def serve(work: list[tuple[str, str]]) -> None:
    """Worker of `--against`: for each line "START STOP" on stdin, judge work[START:STOP] and print the CPU
    seconds it took (this process's CPU time: a competing process on the core does not count)."""
    import judge
    from judge.judging.builtin import classify

    classify(*work[0])
    print(str(Path(judge.__file__).resolve().parent), flush=True)
    for line in sys.stdin:
        lo, hi = map(int, line.split())
        start = time.process_time()
        for p, r in work[lo:hi]:
            classify(p, r)
        print(f"{time.process_time() - start:.9f}", flush=True)


class Worker:
    """A `serve` subprocess judging with the package of one checkout (PYTHONPATH), on one core."""

    def __init__(self, checkout: Path, args: argparse.Namespace) -> None:
        cmd = [sys.executable, __file__, "--worker", "--n", str(args.n)]
        cmd += ["--synthetic"] if args.synthetic else ["--data", str(args.data)]
        env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}
        self.checkout = checkout
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        package = self._line()
        if not package.startswith(str(checkout)):
            self.close()
            sys.exit(f"the worker for {checkout} imported judge from {package}")

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"the benchmark worker for {self.checkout} failed (exit {self.proc.wait()})")
        return line.strip()

    def time(self, lo: int, hi: int) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{lo} {hi}\n")
        self.proc.stdin.flush()
        return float(self._line())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def compare(args: argparse.Namespace) -> None:
    """This checkout (A) against `args.against` (B): chunks of the same pairs, alternating ABBA."""
    here, other = ROOT, args.against.resolve()
    if not (other / "judge" / "judging" / "builtin").is_dir():
        sys.exit(f"{other}: not a checkout of judge (no judge/judging/builtin)")
    a, b = Worker(here, args), Worker(other, args)
    print(f"A = {here}\nB = {other}\n{args.n} pairs per round in chunks of {args.chunk}, alternating ABBA; "
          "CPU time of each worker process")  # fmt: skip
    ratios: list[float] = []
    totals = {"A": 0.0, "B": 0.0}
    try:
        for rnd in range(args.rounds):
            spent = {"A": 0.0, "B": 0.0}
            for k, lo in enumerate(range(0, args.n, args.chunk)):
                hi = min(lo + args.chunk, args.n)
                order = [("A", a), ("B", b)] if k % 2 == 0 else [("B", b), ("A", a)]
                for name, worker in order:
                    spent[name] += worker.time(lo, hi)
            ratios.append(spent["B"] / spent["A"])
            for name in spent:
                totals[name] += spent[name]
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(f"round {rnd + 1}: A {args.n / spent['A']:.0f}/s  B {args.n / spent['B']:.0f}/s  "
                  f"A/B speed {ratios[-1]:.3f}  (load {load})")  # fmt: skip
    finally:
        a.close()
        b.close()
    print(f"A/B speed: median {statistics.median(ratios):.3f} over {len(ratios)} rounds "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}; all rounds {totals['B'] / totals['A']:.3f})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--shared", action="store_true", help="real responses from ../shared/datasets (the default)")
    src.add_argument("--synthetic", action="store_true", help="short template-generated pairs")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--against", type=Path, help="another checkout: print this one's speed as a ratio to it")
    ap.add_argument("--rounds", type=int, default=4, help="with --against: passes over the pairs (default 4)")
    ap.add_argument("--chunk", type=int, default=250, help="with --against: pairs per alternation (default 250)")
    ap.add_argument("--repeat", type=int, default=1, help="timed passes; the fastest counts")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.shared and not shared_available(args.data):
        ap.error(f"no shared sets in {args.data}")
    if args.against is not None:
        compare(args)
        return
    shared = not args.synthetic and shared_available(args.data)
    pin_one_core()
    work = pairs(args.n, shared, args.data)
    if args.worker:
        serve(work)
        return
    rate = time_pairs(work, max(args.repeat, 1))
    mean_chars = sum(len(r) for _, r in work) / len(work)
    source = f"real responses from {args.data}" if shared else "synthetic pairs"
    if not shared and not args.synthetic:
        source += " (shared sets not found)"
    print(f"{rate:.0f} verdicts/s on one core ({len(work)} {source}, mean {mean_chars:.0f} chars)")


if __name__ == "__main__":
    main()
