"""The benchmark scripts run end to end with tiny counts (their figures are measured by hand)."""

from __future__ import annotations

import subprocess
import sys

from pipeline_helpers import ROOT


def _script(name: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True, timeout=240, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_bench_pipeline_reports_every_stage_against_the_bare_client() -> None:
    text = _script("bench_pipeline.py", "--calls", "40", "--concurrency", "4", "--latency-ms", "20")
    rows = [line.split() for line in text.splitlines() if line.strip().startswith("4 ")]
    assert [r[1] for r in rows] == ["bare", "generate", "judge"]
    assert all(int(r[2]) == 40 for r in rows)  # every call answered, in every stage


def test_bench_faults_prints_the_ratio() -> None:
    text = _script("bench_faults.py", "--prompts", "12", "--concurrency", "4", "--latency-ms", "10", "--timeout-s", "1")
    assert "ratio" in text and "fault-free" in text


def test_bench_storage_prints_every_figure_beside_its_reference() -> None:
    text = _script("bench_storage.py", "--scale", "2000")
    for figure in ("write", "size", "metrics", "report"):
        assert any(line.startswith(figure) and "ratio" in line for line in text.splitlines()), text
    assert "(exit 0)" in text  # judge report ran over the written run
    profile = next(line for line in text.splitlines() if line.startswith("profile"))
    assert "building the rows" in profile and "the journal" in profile
    assert "COMMIT" in text and "load verdicts" in text  # the writer thread's hold, by statement
