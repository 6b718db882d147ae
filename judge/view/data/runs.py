"""The runs list and one run's page: the report's numbers (cached per run state), judges, neighbours."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from judge.analysis.report_data import Report, build_report
from judge.store.runs import resolve_run
from judge.view.context import ViewContext
from judge.view.index import IndexInfo, Preparing
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


# What run_overview shows, counted with one GROUP BY per table instead of a subquery per run and table.
_RUNS_SQL = """
WITH n_resp AS (SELECT run_id, count(*) AS n FROM responses GROUP BY run_id),
     n_verd AS (SELECT run_id, count(*) AS n FROM verdicts GROUP BY run_id),
     n_call AS (SELECT run_id, count(*) AS n, coalesce(sum(cost_usd), 0.0) AS cost FROM model_calls GROUP BY run_id),
     n_prompt AS (SELECT run_id, count(*) AS n FROM run_prompts GROUP BY run_id),
     models AS (SELECT run_id,
                       list(name ORDER BY name) FILTER (WHERE role = 'target') AS targets,
                       list(name ORDER BY name) FILTER (WHERE role = 'judge') AS judges
                FROM run_models GROUP BY run_id)
SELECT o.run_id, o.name, o.started_at, o.finished_at, o.status, o.status_reason,
       coalesce(m.targets, []), coalesce(m.judges, []), coalesce(p.n, 0), coalesce(r.n, 0), coalesce(v.n, 0),
       coalesce(c.n, 0), coalesce(c.cost, 0.0),
       lead(o.run_id) OVER (PARTITION BY o.name ORDER BY o.started_at DESC, o.run_id DESC) AS previous
FROM runs o
LEFT JOIN models m USING (run_id) LEFT JOIN n_prompt p USING (run_id) LEFT JOIN n_resp r USING (run_id)
LEFT JOIN n_verd v USING (run_id) LEFT JOIN n_call c USING (run_id)
ORDER BY o.started_at DESC, o.run_id DESC LIMIT ?
"""


def list_runs(ctx: ViewContext, con: duckdb.DuckDBPyConnection) -> tuple[list[RunListRow], int]:
    """The newest runs first (at most MAX_RUNS_LISTED) and how many runs there are.

    Read again whenever the database files changed (their counts scan the big tables), else cached.
    """
    fstamp, trusted = ctx.file_stamp()
    if not trusted:
        return _list_runs(con)
    return ctx.reports.get_or_compute(("runs", fstamp), lambda: _list_runs(con))


def _list_runs(con: duckdb.DuckDBPyConnection) -> tuple[list[RunListRow], int]:
    total = int(fetch_all(con, "SELECT count(*) FROM runs")[0][0])
    rows = fetch_all(con, _RUNS_SQL, [MAX_RUNS_LISTED])
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
    superseded: bool = False  # figures of an earlier state of a run being written (the newer ones are computed)


def run_page(ctx: ViewContext, con: duckdb.DuckDBPyConnection, run_id: str, judge: str | None) -> RunPage:
    """The report for one judge of the run (default: its first), computed once per run state in the background."""
    start = time.monotonic()  # one wait for the index and the report together

    def compute() -> Report:
        # in the background instance: the request's connection closes before a slow report ends
        with ctx.read_background() as own:
            # examples_per_target=0: the page shows no examples, and choosing them scans every verdict
            return build_report(own, run_id, judge=judge, examples_per_target=0)

    try:
        info = ctx.indexes.ensure(con, run_id, ctx.wait_s)
    except Preparing as preparing:
        stamp = ctx.indexes.known_stamp(run_id)  # no read: a first request answers "preparing" at once
        if stamp is not None:
            with contextlib.suppress(Preparing):  # start the report beside the index
                key = ("report", run_id, judge, stamp)
                ctx.background.get(key, compute, wait_s=0.0, run_id=run_id, what="the report")
        return _earlier_figures(ctx, run_id, judge, preparing)
    remaining = max(0.0, ctx.wait_s - (time.monotonic() - start))
    key = ("report", run_id, judge, info.stamp)
    try:
        report = ctx.background.get(key, compute, wait_s=remaining, run_id=run_id, what="the report")
    except Preparing as preparing:
        return _earlier_figures(ctx, run_id, judge, preparing)
    page = RunPage(run_id, report, info, previous_run(con, run_id))
    if info.running:
        ctx.shown_run_pages[(run_id, judge)] = page
    else:
        ctx.shown_run_pages.pop((run_id, judge), None)
    return page


def _earlier_figures(ctx: ViewContext, run_id: str, judge: str | None, preparing: Preparing) -> RunPage:
    """While a run is being written, the last figures shown for it, marked as superseded (a report is
    computed again after every commit, so waiting for the newest would answer "preparing" throughout the
    run); a run not being written, or never shown yet, answers "preparing"."""
    shown = ctx.shown_run_pages.get((run_id, judge))
    stamp = ctx.indexes.known_stamp(run_id)
    if shown is None or (stamp is not None and stamp[0] != "running"):  # a run known to be finished: no
        ctx.shown_run_pages.pop((run_id, judge), None)  # older figures, even marked
        raise preparing
    return replace(shown, superseded=True)


def facet_values(info: IndexInfo) -> dict[str, list[str]]:
    """Distinct values of the run's filterable columns (from its index)."""
    return info.facets
