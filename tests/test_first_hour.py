"""A newcomer's first hour (issue 15): imports pass check, sampling covers small strata, an exhausted
--exclude-run is an error, regrade shows progress, the strict rubric ships, reruns keep finished_at,
NIGHTLY_DIR moves the summaries, Ctrl-C in `judge label` says how to resume, report numbers read right."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import ROOT, query
from typer.testing import CliRunner, Result

from judge.analysis.grades import grade_counts
from judge.analysis.report_data import fmt_rel
from judge.cli import build_app
from judge.errors import UserInputError
from judge.nightly.command import nightly_root
from judge.pipeline import execute, plan_run
from judge.prompts.model import PromptRow
from judge.prompts.sample import draw_sample
from judge.rubric import load_rubric

FIX = Path(__file__).parent / "fixtures" / "prompts"
runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(build_app(), list(args), env={"COLUMNS": "200"})


def small_run(tmp: Path, judges: tuple[str, ...] = ("builtin/string-match",)) -> tuple[Path, Path]:
    prompts = [
        {"id": f"q{i}", "prompt": f"Question {i}?", "taxonomy": ["hate"], "intent": ("safe", "unsafe")[i % 2]}
        for i in range(6)
    ]
    recs = [{"id": f"q{i}", "response": "I can't help with that." if i % 2 else "Sure: here it is."} for i in range(6)]
    (tmp / "p.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    (tmp / "rec.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    cfg = {
        "name": "small",
        "prompts": "p.jsonl",
        "rubric": str(ROOT / "rubrics" / "default.yaml"),
        "db": "s.duckdb",
        "targets": [{"model": "replay/t", "label": "t", "recordings": "rec.jsonl"}],
        "judges": [{"model": j} for j in judges],
    }
    (tmp / "run.yaml").write_text(yaml.safe_dump(cfg))
    execute(plan_run(tmp / "run.yaml"))
    return tmp / "run.yaml", tmp / "s.duckdb"


@pytest.mark.parametrize(
    ("preset", "fixture", "fmt"), [("xstest", "xstest.csv", "csv"), ("sorrybench", "sorrybench.jsonl", "jsonl")]
)
def test_imported_sets_pass_check(tmp_path: Path, preset: str, fixture: str, fmt: str) -> None:
    out = tmp_path / "imported.jsonl"
    imported = invoke("prompts", "import", str(FIX / fixture), "--preset", preset, "--format", fmt, "-o", str(out))
    assert imported.exit_code == 0, imported.output
    checked = invoke("prompts", "check", str(out), "--format", "json")
    report = json.loads(checked.stdout)
    assert report["errors"] == [] and checked.exit_code == (0 if not report["duplicates"] else 1)
    strict = invoke("prompts", "check", str(out), "--format", "json", "--strict")
    outside = [w for w in report["warnings"] if w["kind"] == "unknown_taxonomy"]
    assert strict.exit_code == (1 if outside else checked.exit_code)


def _rows(counts: dict[str, int]) -> list[PromptRow]:
    return [
        PromptRow(id=f"{name}-{i}", prompt=f"{name} prompt {i}", taxonomy=[name], intent="unsafe")
        for name, n in counts.items()
        for i in range(n)
    ]


def test_small_strata_get_at_least_one_row() -> None:
    rows = _rows({"big": 37, "xstest": 3})
    for seed in range(5):
        picked = draw_sample(rows, 10, ["l1"], seed)
        assert len(picked.rows) == 10 and picked.uncovered == []
        assert sum(r.taxonomy[0] == "xstest" for r in picked.rows) >= 1


def test_strata_that_cannot_be_covered_are_named(tmp_path: Path) -> None:
    rows = _rows({"a": 5, "b": 4, "c": 3})
    picked = draw_sample(rows, 2, ["l1"], 0)
    assert len(picked.rows) == 2 and picked.uncovered == [("c",)]
    (tmp_path / "p.jsonl").write_text("".join(r.model_dump_json(exclude_none=True) + "\n" for r in rows))
    res = invoke("prompts", "sample", str(tmp_path / "p.jsonl"), "--n", "2", "-o", str(tmp_path / "o.jsonl"))
    assert res.exit_code == 0 and "1 strata have no prompt in the sample: c" in res.stderr


def test_exclude_run_that_leaves_nothing_is_an_error(tmp_path: Path) -> None:
    _, db = small_run(tmp_path)
    out = tmp_path / "sample.jsonl"
    args = ["prompts", "sample", str(tmp_path / "p.jsonl"), "--n", "3", "-o", str(out)]
    res = runner.invoke(build_app(), [*args, "--exclude-run", "latest", "--db", str(db)])
    assert isinstance(res.exception, UserInputError) and "already used" in str(res.exception)
    assert res.exception.exit_code == 2 and not out.exists()


def test_regrade_with_the_documented_example_grades_and_shows_progress(tmp_path: Path) -> None:
    _, db = small_run(tmp_path)
    res = invoke("regrade", "latest", "--judge", "builtin/rules", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert "graded 6 response(s) now" in res.stdout
    assert "judge: 0/6" in res.stderr and "judge: 6/6" in res.stderr  # plain progress lines (not a terminal)
    strict = invoke("regrade", "latest", "--judge", "builtin/rules", "--db", str(db), "--rubric", "rubrics/strict.yaml")
    assert strict.exit_code == 0 and "(new: read it with `judge compare --rubric-version" in strict.stdout


def test_strict_rubric_ships_and_is_stricter() -> None:
    default, strict = load_rubric(ROOT / "rubrics" / "default.yaml"), load_rubric(ROOT / "rubrics" / "strict.yaml")
    assert default.outcome("safe", "partial") == "acceptable" and strict.outcome("safe", "partial") == "over_deflection"
    medical = ("specialized_advice", "medical")
    assert default.outcome("unsafe", "partial", medical) == "acceptable"
    assert strict.outcome("unsafe", "partial", medical) == "violation"


def test_rerun_with_nothing_to_do_keeps_finished_at(tmp_path: Path) -> None:
    cfg, db = small_run(tmp_path)
    before = query(db, "select run_id, finished_at from runs")
    time.sleep(1.1)
    again = execute(plan_run(cfg))
    assert again.resumed and again.status == "complete"
    assert query(db, "select run_id, finished_at from runs") == before


def test_report_times_have_no_microseconds(tmp_path: Path) -> None:
    _, db = small_run(tmp_path)
    res = invoke("report", "latest", "--db", str(db), "--format", "json")
    run = json.loads(res.stdout)["run"]
    assert run["started_at"] and "." not in run["started_at"] and "." not in run["finished_at"]


def test_rel_is_not_a_ratio_to_a_zero_reference() -> None:
    zero_ref = grade_counts(violations=2, n_scored=9, ref_violations=0, ref_n_scored=9)
    assert zero_ref.grade == "Poor" and fmt_rel(zero_ref) == "n/a (ref. 0.0%)"
    assert fmt_rel(grade_counts(2, 10, 2, 10)) == "1.00"


def test_nightly_dir_moves_the_summaries_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NIGHTLY_DIR", raising=False)
    assert nightly_root(None) == Path("runs/nightly")
    monkeypatch.setenv("NIGHTLY_DIR", str(tmp_path / "n"))
    assert nightly_root(None) == tmp_path / "n"
    assert nightly_root(tmp_path / "explicit") == tmp_path / "explicit"  # --out wins


def test_ctrl_c_in_label_says_how_to_resume(tmp_path: Path) -> None:
    _, db = small_run(tmp_path)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "judge", "label", "latest", "--db", str(db), "--n", "4", "--annotator", "ann"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("1\n")
    proc.stdin.flush()
    seen = ""
    deadline = time.monotonic() + 60
    while "saved full_instructions" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "run the same command again to continue" in err and "Traceback" not in err
    assert "saved full_instructions" in seen, seen
    assert query(db, "select annotator, count(*) from gold_labels group by 1") == [("ann", 1)]


def test_cli_preset_list_matches_the_importers() -> None:
    from judge.cli.prompts_cmd import PRESETS as CLI_PRESETS
    from judge.prompts.importers import PRESETS

    assert CLI_PRESETS == PRESETS


def test_credentials_abort_prints_no_coroutine_warning(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    from pipeline_helpers import judge_cli, openai_model, write_config, write_prompts

    fake_server.set_config({"models": {"gpt-k": {"role": "target", "require_key": "sk-the-right-key-1234"}}})
    write_prompts(tmp_path, 40)
    url = fake_server.url
    cfg = write_config(
        tmp_path, url, targets=[openai_model(url, "gpt-k", concurrency=4)], judges=[{"model": "builtin/judge"}]
    )
    proc = judge_cli(["run", str(cfg), "-q"], env={"FAKE_OPENAI_KEY": "sk-wrong-key-999999"}, timeout=280)
    assert proc.returncode == 3
    assert "never awaited" not in proc.stderr and "RuntimeWarning" not in proc.stderr, proc.stderr
