"""Render a Report as JSON (the report's data structure itself, for other tools)."""

from __future__ import annotations

from judge.analysis.report_data import Report


def render_json(report: Report) -> str:
    return report.model_dump_json(indent=2) + "\n"
