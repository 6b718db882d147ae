"""A run's report as text in one format (md, html, json), read from the store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from judge.errors import UserInputError

ReportFormat = Literal["md", "html", "json"]
REPORTS_DIR = Path("runs") / "reports"


@dataclass(frozen=True)
class RenderedReport:
    run_id: str
    judge: str
    text: str


def render_report(
    db_path: Path, run: str, fmt: ReportFormat, *, judge: str | None, level2: bool, examples: int
) -> RenderedReport:
    """Build the report of `run` (id, prefix, latest, latest:NAME) and render it as `fmt`."""
    from judge.analysis.report_data import build_report
    from judge.store.db import read_connection
    from judge.store.runs import resolve_run

    with read_connection(db_path) as con:
        run_id = resolve_run(con, run)
        data = build_report(con, run_id, judge=judge, level2=level2, examples_per_target=examples)
    if fmt == "html":
        from judge.analysis.report_html import render_html

        text = render_html(data)
    elif fmt == "json":
        from judge.analysis.report_json import render_json

        text = render_json(data)
    else:
        from judge.analysis.report_md import render_markdown

        text = render_markdown(data)
    return RenderedReport(run_id, data.judge, text)


def write_report(report: RenderedReport, output: Path) -> None:
    """Write the report text to `output` (creating its folder); a failure is bad input, not a traceback."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report.text, encoding="utf-8")
    except OSError as e:
        raise UserInputError(f"cannot write the report: {e.strerror}", file=output) from None
