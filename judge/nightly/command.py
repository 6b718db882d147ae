"""`judge nightly CONFIG`: a new run of the config, compared with the previous complete run.

Exit codes: 0 nothing regressed, 1 a gate failed, 2 bad input (UserInputError, raised),
3 the run itself did not complete (aborted, stopped, or errors above `max_error_rate`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from judge.errors import DatabaseBusy, RunAborted, UserInputError
from judge.nightly.gates import Check, GatesConfig, error_failures, evaluate, load_gates
from judge.nightly.numbers import load_numbers, pick_judge
from judge.nightly.summary import SummaryInput, render_markdown
from judge.stages.progress import NullProgress, ProgressSink
from judge.store.db import read_connection
from judge.store.runs import latest_run_named, previous_finished_run, resolve_run, run_judge_names

EXIT_OK, EXIT_REGRESSION, EXIT_RUN_FAILED = 0, 1, 3
DEFAULT_OUT = Path("runs/nightly")


@dataclass
class NightlyResult:
    exit_code: int
    folder: Path
    summary_path: Path
    run_id: str | None
    baseline_id: str | None
    judge: str | None
    checks: list[Check] = field(default_factory=list)
    error_failures: list[str] = field(default_factory=list)
    report_path: Path | None = None
    markdown: str = ""

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.failed]


def dated_folder(root: Path, name: str, now: datetime) -> Path:
    base = root / name / f"{now:%Y-%m-%d_%H%M%S}"
    folder, n = base, 1
    while folder.exists():  # two nights in the same second (tests): never overwrite
        n += 1
        folder = base.with_name(f"{base.name}_{n}")
    folder.mkdir(parents=True)
    return folder


def nightly_root(out: str | Path | None) -> Path:
    """Where the dated folders go: --out, else $NIGHTLY_DIR (as scripts/nightly.sh), else runs/nightly."""
    if out is not None:
        return Path(out)
    return Path(os.environ.get("NIGHTLY_DIR") or DEFAULT_OUT)


def run_nightly(
    config: str | Path,
    *,
    db: str | Path | None = None,
    baseline: str | None = None,
    out: str | Path | None = None,
    judge: str | None = None,
    progress: ProgressSink | None = None,
    now: datetime | None = None,
) -> NightlyResult:
    from judge.pipeline import execute, plan_run

    plan = plan_run(config, db_override=db)  # bad config → UserInputError before anything runs
    cfg = plan.loaded.config
    gates = load_gates(cfg.gates, plan.loaded.path)
    db_path = plan.loaded.db_path
    baseline_id = None
    if baseline is not None:
        with read_connection(db_path) as con:
            try:
                baseline_id = resolve_run(con, baseline)
            except UserInputError as exc:
                raise UserInputError(exc.message, field="--baseline") from None
    now = now or datetime.now(UTC)
    stamp = f"{now:%Y-%m-%d %H:%M:%S} UTC"

    run_id, status, reason, calls, cost = None, "aborted", None, 0, 0.0
    try:
        outcome = execute(plan, new_run=True, progress=progress or NullProgress())
        run_id, status, reason = outcome.run_id, outcome.status, outcome.reason
        calls, cost = outcome.remote_calls, outcome.cost_usd
    except DatabaseBusy as exc:  # finished work is in the journal; the nightly run failed (exit 3)
        status, reason = "busy", str(exc)
    except RunAborted as exc:
        reason = str(exc)
        with read_connection(db_path) as con:
            run_id = latest_run_named(con, cfg.name)

    folder = dated_folder(nightly_root(out), cfg.name, now)
    summary = SummaryInput(
        cfg.name, stamp, EXIT_OK, run_id, status, reason, None, None, None, gates, remote_calls=calls, cost_usd=cost
    )
    result = NightlyResult(EXIT_OK, folder, folder / "summary.md", run_id, None, None)
    if status in ("aborted", "stopped") or run_id is None:
        summary.exit_code = result.exit_code = EXIT_RUN_FAILED
        return _finish(result, summary, gates)

    with read_connection(db_path) as con:
        judge_name = pick_judge(con, run_id, judge)
        if baseline_id is None:
            baseline_id = previous_finished_run(con, cfg.name, run_id)
        after = load_numbers(con, run_id, judge_name)
        from judge.judging.cascade_stats import cascade_stats, unsure_counts

        summary.unsure = sum(n for (_, j), n in unsure_counts(con, run_id).items() if j == judge_name)
        summary.cascade_lines = [line for c in cascade_stats(con, run_id) for line in c.lines()]
        before = None
        if baseline_id is not None:
            if judge_name in run_judge_names(con, baseline_id):
                before = load_numbers(con, baseline_id, judge_name)
            else:
                summary.baseline_note = f"baseline {baseline_id} has no judge {judge_name!r}"
    summary.judge = result.judge = judge_name
    if before is not None:
        summary.baseline_id = result.baseline_id = baseline_id
    result.error_failures = summary.error_failures = error_failures(gates, after)
    result.checks = summary.checks = evaluate(gates, before, after) if before is not None else []
    result.report_path, summary.report_note = _html_report(db_path, run_id, judge_name, folder)

    if result.error_failures:
        result.exit_code = EXIT_RUN_FAILED
    elif result.failed:
        result.exit_code = EXIT_REGRESSION
    summary.exit_code = result.exit_code
    return _finish(result, summary, gates)


def _finish(result: NightlyResult, summary: SummaryInput, gates: GatesConfig) -> NightlyResult:
    result.markdown = render_markdown(summary)
    result.summary_path.write_text(result.markdown, encoding="utf-8")
    data = {
        "exit_code": result.exit_code,
        "run_id": result.run_id,
        "run_status": summary.run_status,
        "run_reason": summary.run_reason,
        "baseline_id": result.baseline_id,
        "judge": result.judge,
        "gates": gates.model_dump(mode="json"),
        "error_failures": result.error_failures,
        "checks": [
            {
                "gate": c.gate,
                "target": c.target,
                "scope": c.scope,
                "before": [c.before.k, c.before.n],
                "after": [c.after.k, c.after.n],
                "change_pts": c.change_pts,
                "z": c.z,
                "p_value": c.p_value,
                "limit_pts": c.limit_pts,
                "alpha": c.alpha,
                "evaluated": c.evaluated,
                "failed": c.failed,
            }
            for c in result.checks
        ],
        "report": str(result.report_path) if result.report_path else None,
    }
    (result.folder / "gates.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return result


def _html_report(db_path: Path, run_id: str, judge: str, folder: Path) -> tuple[Path | None, str]:
    """The analysis package's HTML report for the run."""
    from judge.analysis.report_data import build_report
    from judge.analysis.report_html import render_html

    path = folder / "report.html"
    try:
        with read_connection(db_path) as con:
            report = build_report(con, run_id, judge=judge)
        path.write_text(render_html(report), encoding="utf-8")
    except UserInputError as exc:
        return None, f"not written ({exc.message})"
    return path, f"[report.html]({path.name})"
