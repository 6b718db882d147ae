"""Start-up time of `judge --help` and `judge --version` beside a bare `python -c pass` (median of N runs).

    .venv/bin/python scripts/bench_startup.py [--runs 15]

The machine may be busy: read the ratios to `python -c pass` measured in the same run, and the
absolute figures only as an indication (the target is ≤ 0.3 s for both on an idle machine).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def judge_command() -> list[str]:
    exe = Path(sys.executable).with_name("judge")
    return [str(exe)] if exe.exists() else [shutil.which("judge") or "judge"]


def timed(cmd: list[str], runs: int) -> float:
    """Median wall time of `cmd` over `runs` runs (after one warm-up run)."""
    subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    judge = judge_command()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "judge --version": [*judge, "--version"],
        "judge --help": [*judge, "--help"],
        "judge sql --help": [*judge, "sql", "--help"],
    }
    base = None
    print(f"{'command':<18} {'median s':>9} {'× python':>9}")
    for name, cmd in cases.items():
        t = timed(cmd, args.runs)
        base = base or t
        print(f"{name:<18} {t:>9.3f} {t / base:>9.1f}")


if __name__ == "__main__":
    main()
