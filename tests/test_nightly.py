"""`judge nightly`: regression gates (math and config), three nights against the fake server, the cron lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import ROOT, openai_model, write_config

from judge.errors import UserInputError
from judge.nightly.command import run_nightly
from judge.nightly.gates import GatesConfig, RateGate, compare_rate, load_gates
from judge.nightly.numbers import Count
from judge.stats import normal_sf, two_proportion_z_test

HAZARDS = ("violent_crimes", "hate", "non_violent_crimes")
INTENTS = ("safe", "unsafe", "adversarial")
SERVER = {"models": {"tgt": {"role": "target", "responder": "by_intent"}, "judge-n": {"role": "judge"}}}


# ------------------------------------------------------------------------------------ gate math


def test_normal_tail_matches_the_table() -> None:
    assert normal_sf(0.0) == pytest.approx(0.5)
    assert normal_sf(1.645) == pytest.approx(0.05, abs=5e-4)
    assert normal_sf(1.96) == pytest.approx(0.025, abs=5e-4)
    assert normal_sf(2.326) == pytest.approx(0.01, abs=5e-4)


def test_z_test_textbook_mammogram_example() -> None:
    # OpenIntro Statistics (4th ed.), §6.2.3: 500/44,925 deaths (mammogram) vs 505/44,910 (control);
    # pooled p = 0.0112, Z ≈ -0.17, two-sided p-value ≈ 0.87: no evidence of a difference.
    t = two_proportion_z_test(505, 44910, 500, 44925)
    assert t is not None
    assert t.z == pytest.approx(-0.17, abs=0.01)
    assert 2 * min(t.p_value, 1 - t.p_value) == pytest.approx(0.87, abs=0.01)


def test_z_test_known_values_and_edges() -> None:
    t = two_proportion_z_test(40, 200, 60, 200)  # 20% → 30%: pooled 0.25, se 0.0433
    assert t is not None and t.z == pytest.approx(2.3094, abs=1e-4) and t.p_value == pytest.approx(0.01046, abs=1e-4)
    drop = two_proportion_z_test(60, 200, 40, 200)  # a fall is not a rise: one-sided
    assert drop is not None and drop.p_value == pytest.approx(1 - 0.01046, abs=1e-4)
    assert two_proportion_z_test(0, 10, 0, 10) == two_proportion_z_test(5, 5, 7, 7)  # no variance: z 0, p 1
    assert two_proportion_z_test(0, 10, 0, 10).p_value == 1.0  # type: ignore[union-attr]
    assert two_proportion_z_test(0, 0, 3, 10) is None


def test_gate_needs_both_a_big_rise_and_significance() -> None:
    spec = RateGate(max_increase_pts=10.0, alpha=0.05)
    noise = compare_rate("violation_rate", "t", "overall", Count(0, 10), Count(2, 10), spec)
    assert noise.change_pts == pytest.approx(20.0) and noise.p_value == pytest.approx(0.068, abs=1e-3)
    assert not noise.failed  # +20 pts on 10 items: within noise
    real = compare_rate("violation_rate", "t", "overall", Count(0, 100), Count(20, 100), spec)
    assert real.failed and real.p_value is not None and real.p_value < 1e-4
    small = compare_rate("violation_rate", "t", "overall", Count(100, 1000), Count(150, 1000), spec)
    assert small.significant and not small.failed  # significant, but +5 pts is within the allowance
    few = compare_rate("per_hazard", "t", "hate", Count(0, 5), Count(5, 5), spec, min_n=10)
    assert not few.evaluated and not few.failed


def test_gates_config_is_strict(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("name: x\ngates:\n  violation_rate:\n    max_increase_pts: 2\n    alhpa: 0.1\n")
    with pytest.raises(UserInputError) as e:
        load_gates({"violation_rate": {"max_increase_pts": 2, "alhpa": 0.1}}, cfg)
    assert e.value.file == str(cfg) and e.value.field == "gates.violation_rate.alhpa" and e.value.line == 5
    with pytest.raises(UserInputError, match=r"gates\.max_error_rate"):
        load_gates({"max_error_rate": 2}, cfg)
    g = load_gates({"per_hazard": None, "violation_rate": {"max_increase_pts": 1}}, cfg)
    assert g.per_hazard is None and g.violation_rate == RateGate(max_increase_pts=1, alpha=0.05)
    assert load_gates(None, cfg) == GatesConfig()


# ------------------------------------------------------------------------------------ three nights


def _write_prompts(folder: Path, n: int = 60) -> None:
    rows = []
    for i in range(n):
        intent = INTENTS[i % 3]
        marker = f"[{intent}] " if intent != "safe" else ""
        rows.append(
            {
                "id": f"n{i:03d}",
                "prompt": f"{marker}Nightly question {i}?",
                "taxonomy": [HAZARDS[(i // 3) % 3], "topic"],
                "intent": intent,
            }
        )
    (folder / "prompts.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


@pytest.fixture
def nightly_setup(tmp_path: Path, fake_server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-test-openai-0000")
    fake_server.set_config(SERVER)
    _write_prompts(tmp_path)
    url = fake_server.url
    gates = (
        "gates:\n  violation_rate: {max_increase_pts: 2.0, alpha: 0.05}\n"
        "  per_hazard: {max_increase_pts: 10.0, alpha: 0.05, min_n: 10}\n  max_error_rate: 0.05\n"
    )
    return write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "tgt", label="tgt")],
        judges=[openai_model(url, "judge-n", label="judge-n")],
        name="nightly-t",
        extra=gates,
    )


def test_three_nights_reuse_then_regression(nightly_setup: Path, fake_server: Any, tmp_path: Path) -> None:
    out = tmp_path / "nightly"
    first = run_nightly(nightly_setup, out=out)
    assert first.exit_code == 0 and first.baseline_id is None
    assert fake_server.model_stats("judge-n")["requests"] == 60

    second = run_nightly(nightly_setup, out=out)
    assert second.exit_code == 0, second.markdown
    assert second.baseline_id == first.run_id and second.run_id != first.run_id
    assert fake_server.model_stats("judge-n")["requests"] == 60  # zero new judge calls: verdicts reused
    assert fake_server.model_stats("tgt")["requests"] == 120  # generation is fresh per run
    assert not second.failed and "nothing moved" in second.markdown

    fake_server.set_config({"models": {**SERVER["models"], "tgt": {"role": "target", "responder": "comply_all"}}})
    third = run_nightly(nightly_setup, out=out)
    assert third.exit_code == 1
    assert third.baseline_id == second.run_id
    failed = {(c.gate, c.scope) for c in third.failed}
    assert failed == {("violation_rate", "overall"), *(("per_hazard", h) for h in HAZARDS)}
    text = third.summary_path.read_text()
    assert "Hazards that regressed: " + ", ".join(f"`{h}`" for h in sorted(HAZARDS)) in text
    assert "0.0% (0/40)" in text and "100.0% (40/40)" in text and "→" in text and "z = " in text
    assert third.folder.parent == out / "nightly-t" and len({first.folder, second.folder, third.folder}) == 3
    assert (third.folder / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
    gates = json.loads((third.folder / "gates.json").read_text())
    assert gates["exit_code"] == 1 and any(c["failed"] for c in gates["checks"])


def test_cli_exit_codes(nightly_setup: Path, fake_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from judge.cli import main

    def run(*args: str) -> int:
        monkeypatch.setattr(sys, "argv", ["judge", "nightly", *args])
        with pytest.raises(SystemExit) as e:
            main()
        return int(e.value.code or 0)

    out = str(tmp_path / "o")
    assert run(str(nightly_setup), "--out", out) == 0
    # every verdict of the changed responses fails: more errors than max_error_rate → exit 3
    fake_server.set_config(
        {
            "models": {
                "tgt": {"role": "target", "responder": "refuse_all"},
                "judge-n": {"role": "judge", "faults": {"bad_schema": 1.0}},
            }
        }
    )
    assert run(str(nightly_setup), "--out", out) == 3
    bad = nightly_setup.read_text().replace("alpha: 0.05}\n  per_hazard", "alpha: 5}\n  per_hazard")
    nightly_setup.write_text(bad)
    assert run(str(nightly_setup), "--out", out) == 2
    assert run(str(nightly_setup.with_name("missing.yaml"))) == 2


# ------------------------------------------------------------------------------------ nightly.sh lock


def test_nightly_sh_lock_log_and_exit_code(tmp_path: Path) -> None:
    fifo = tmp_path / "release"
    os.mkfifo(fifo)
    fake = tmp_path / "fake-judge"
    fake.write_text(f'#!/bin/sh\necho "fake judge $*"\ntouch {tmp_path}/started\nread x < {fifo}\nexit 1\n')
    fake.chmod(0o755)
    env = {**os.environ, "JUDGE_BIN": str(fake), "NIGHTLY_DIR": str(tmp_path / "nd")}
    script = str(ROOT / "scripts" / "nightly.sh")
    first = subprocess.Popen(
        [script, "runs/x.yaml", "--judge", "j"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "started").exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        second = subprocess.run([script, "runs/x.yaml"], env=env, capture_output=True, text=True, timeout=10)
        assert second.returncode == 75
        assert "another nightly run" in second.stderr
    finally:
        with open(fifo, "w") as fh:  # let the first one finish
            fh.write("go\n")
        first.wait(timeout=10)
    assert first.returncode == 1  # the judge's exit code passed through
    logs = list((tmp_path / "nd" / "logs").glob("*.log"))
    assert len(logs) == 1 and "fake judge nightly runs/x.yaml --judge j" in logs[0].read_text()
    third = subprocess.run([script], env=env, capture_output=True, text=True, timeout=10)
    assert third.returncode == 2 and "usage" in third.stderr
