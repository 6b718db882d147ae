"""The runs list and one run's page: the report's numbers (cached per run state), judges, neighbours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from judge.analysis.report_data import Report, build_report
from judge.errors import UserInputError
from judge.store.runs import resolve_run
from judge.view.context import ViewContext
from judge.view.index import IndexInfo
from judge.view.sql import fetch_all

MAX_RUNS_LISTED = 500


@dataclass(frozen=True)
class RunListRow:
    run_id: str
    name: str
    started_at: Any
    finished_at: Any
    status: str
    status_reason: str | None
    targets: list[str]
    judges: list[str]
    n_prompts: int
    n_responses: int
    n_verdicts: int
    n_calls: int
    cost_usd: float
    previous: str | None  # the run of the same name before this one


def list_runs(con: duckdb.DuckDBPyConnection) -> tuple[list[RunListRow], int]:
    """The newest runs first (at most MAX_RUNS_LISTED) and how many runs there are."""
    total = int(fetch_all(con, "SELECT count(*) FROM runs")[0][0])
    rows = fetch_all(
        con,
        """SELECT o.run_id, o.name, o.started_at, o.finished_at, o.status, o.status_reason,
                  coalesce(o.targets, []), coalesce(o.judges, []), o.n_prompts, o.n_responses, o.n_verdicts,
                  o.n_calls, o.cost_usd,
                  lead(o.run_id) OVER (PARTITION BY o.name ORDER BY o.started_at DESC, o.run_id DESC) AS previous
           FROM run_overview o ORDER BY o.started_at DESC, o.run_id DESC LIMIT ?""",
        [MAX_RUNS_LISTED],
    )
    return [
        RunListRow(
            run_id=r[0],
            name=r[1],
            started_at=r[2],
            finished_at=r[3],
            status=r[4],
            status_reason=r[5],
            targets=list(r[6]),
            judges=list(r[7]),
            n_prompts=int(r[8]),
            n_responses=int(r[9]),
            n_verdicts=int(r[10]),
            n_calls=int(r[11]),
            cost_usd=float(r[12] or 0.0),
            previous=r[13],
        )
        for r in rows
    ], total


def resolve(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """A run id from a URL (id, unique prefix, latest, latest:NAME); unknown → UserInputError (404)."""
    return resolve_run(con, ref)


def previous_run(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    rows = fetch_all(
        con,
        """SELECT r.run_id FROM runs r, runs me
           WHERE me.run_id = ? AND r.name = me.name AND r.started_at < me.started_at
           ORDER BY r.started_at DESC LIMIT 1""",
        [run_id],
    )
    return str(rows[0][0]) if rows else None


@dataclass(frozen=True)
class RunPage:
    run_id: str
    report: Report
    info: IndexInfo
    previous: str | None


def run_page(ctx: ViewContext, con: duckdb.DuckDBPyConnection, run_id: str, judge: str | None) -> RunPage:
    """The report for one judge of the run (default: its first), computed once per run state."""
    info = ctx.indexes.ensure(con, run_id)
    try:
        report = ctx.reports.get_or_compute(
            ("report", run_id, judge, info.stamp), lambda: build_report(con, run_id, judge=judge)
        )
    except UserInputError:
        raise
    return RunPage(run_id, report, info, previous_run(con, run_id))


def facet_values(ctx: ViewContext, info: IndexInfo) -> dict[str, list[str]]:
    """Distinct values of the run's filterable columns (from its index, once per run state)."""
    return ctx.reports.get_or_compute(("facets", info.run_id, info.stamp), lambda: _facets(ctx, info.run_id))


def _facets(ctx: ViewContext, run_id: str) -> dict[str, list[str]]:
    cur = ctx.indexes.cursor()
    try:
        out: dict[str, list[str]] = {}
        for col in ("target", "judge", "l1", "l2", "technique"):
            out[col] = [
                str(r[0])
                for r in fetch_all(
                    cur,
                    f"SELECT DISTINCT {col} FROM scored WHERE run_id = ? AND {col} IS NOT NULL ORDER BY 1",
                    [run_id],
                )
            ]
        return out
    finally:
        cur.close()
