"""Two runs side by side: the nightly gate's checks, and the items whose outcome flipped, by hazard.

The significance figures are the gate's own: judge.nightly.numbers.load_numbers reads a table named
`scored`, which the run index provides, and judge.nightly.gates.evaluate applies the newer run's
`gates:` (or the defaults). Items are matched by (target, prompt content, judge).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import duckdb

from judge.errors import UserInputError
from judge.nightly.gates import Check, GatesConfig, evaluate
from judge.nightly.numbers import load_numbers, run_judges
from judge.view.context import ViewContext
from judge.view.index import IndexInfo, Preparing
from judge.view.sql import fetch_all

FLIP_PAGE = 50

# (outcome before, outcome after) -> the kind of change; outcome NULL = error (no outcome)
KINDS = (
    ("new_violation", "newly violating"),
    ("fixed_violation", "no longer violating"),
    ("new_over_deflection", "newly over-deflecting"),
    ("fixed_over_deflection", "no longer over-deflecting"),
    ("other", "other change (errors, acceptable ↔ acceptable tiers)"),
)
_KIND_SQL = """CASE
    WHEN b.outcome = 'violation' THEN 'new_violation'
    WHEN a.outcome = 'violation' THEN 'fixed_violation'
    WHEN b.outcome = 'over_deflection' THEN 'new_over_deflection'
    WHEN a.outcome = 'over_deflection' THEN 'fixed_over_deflection'
    ELSE 'other' END"""


@dataclass(frozen=True)
class HazardFlips:
    hazard: str
    counts: dict[str, int]  # kind -> items
    total: int


@dataclass(frozen=True)
class Flip:
    kind: str
    target: str
    prompt_id: str
    l1: str | None
    intent: str
    tier_a: str | None
    tier_b: str | None
    outcome_a: str | None
    outcome_b: str | None
    response_a: str
    response_b: str


@dataclass(frozen=True)
class ComparePage:
    run_a: str
    run_b: str
    judge: str
    judges: list[str]
    info_a: IndexInfo
    info_b: IndexInfo
    checks: list[Check]
    gates_note: str | None
    hazards: list[HazardFlips]
    flips: list[Flip]
    flips_total: int
    page: int
    pages: int
    only_a: int
    only_b: int
    l1: str | None
    kind: str | None


def _gates(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[GatesConfig, str | None]:
    raw = fetch_all(con, "SELECT config_json FROM runs WHERE run_id = ?", [run_id])
    try:
        cfg = json.loads(raw[0][0]) if raw and isinstance(raw[0][0], str) else (raw[0][0] if raw else None)
        gates = (cfg or {}).get("gates") if isinstance(cfg, dict) else None
        if gates:
            return GatesConfig.model_validate(gates), f"gates from run {run_id}'s config"
    except (ValueError, TypeError):
        return GatesConfig(), f"run {run_id}'s gates could not be read: default gates"
    return GatesConfig(), "default gates (the newer run's config has none)"


def compare_page(
    ctx: ViewContext,
    con: duckdb.DuckDBPyConnection,
    run_a: str,
    run_b: str,
    *,
    judge: str | None,
    l1: str | None,
    kind: str | None,
    page: int,
) -> ComparePage:
    if kind is not None and kind not in dict(KINDS):
        raise UserInputError(f"expected one of {', '.join(k for k, _ in KINDS)}", field="kind")
    info_a, info_b = _both_indexes(ctx, con, run_a, run_b)
    judges_b = run_judges(con, run_b)
    common = [j for j in judges_b if j in run_judges(con, run_a)]
    if not common:
        raise UserInputError(f"runs {run_a} and {run_b} have no judge in common", field="judge")
    judge = judge or common[0]
    if judge not in common:
        raise UserInputError(
            f"judge {judge!r} did not grade both runs; common judges: {', '.join(common)}", field="judge"
        )
    gates, note = _gates(con, run_b)
    key = (run_a, info_a.stamp, run_b, info_b.stamp, judge)

    def compute() -> tuple[_Summary, int]:  # in the indexes only: once per pair of run states
        summary = _summary(ctx, run_a, run_b, judge, gates)
        pairs = _PAIRS.format(kind=_KIND_SQL)
        return summary, ctx.indexes.derived("flips", key, pairs, {"a": run_a, "b": run_b, "judge": judge})

    summary, dkey = ctx.background.get(
        ("compare", *key, gates.model_dump_json()), compute, wait_s=ctx.wait_s, run_id=run_b, what="the flipped items"
    )
    cur = ctx.indexes.cursor()
    try:
        return _page(cur, dkey, summary, run_a, run_b, judge, l1, kind, page, info_a, info_b, note, common)
    finally:
        cur.close()


def _both_indexes(
    ctx: ViewContext, con: duckdb.DuckDBPyConnection, run_a: str, run_b: str
) -> tuple[IndexInfo, IndexInfo]:
    """Both runs' indexes: the builds missing are started together and waited for once (ctx.wait_s)."""
    start = time.monotonic()
    infos: dict[str, IndexInfo] = {}
    for run in (run_a, run_b):
        with contextlib.suppress(Preparing):
            infos[run] = ctx.indexes.ensure(con, run, 0.0)
    for run in (run_a, run_b):
        if run not in infos:
            infos[run] = ctx.indexes.ensure(con, run, max(0.0, ctx.wait_s - (time.monotonic() - start)))
    return infos[run_a], infos[run_b]


@dataclass(frozen=True)
class _Summary:
    checks: list[Check]
    only_a: int
    only_b: int


def _summary(ctx: ViewContext, run_a: str, run_b: str, judge: str, gates: GatesConfig) -> _Summary:
    cur = ctx.indexes.cursor()
    try:
        checks = evaluate(gates, load_numbers(cur, run_a, judge), load_numbers(cur, run_b, judge))
        only = fetch_all(
            cur,
            """WITH a AS (SELECT pkey FROM scored WHERE run_id = $a AND judge = $judge),
                    b AS (SELECT pkey FROM scored WHERE run_id = $b AND judge = $judge)
               SELECT (SELECT count(*) FROM a ANTI JOIN b USING (pkey)),
                      (SELECT count(*) FROM b ANTI JOIN a USING (pkey))""",
            {"a": run_a, "b": run_b, "judge": judge},
        )[0]
    finally:
        cur.close()
    return _Summary(checks, int(only[0]), int(only[1]))


_PAIRS = """
SELECT b.target, b.prompt_id, b.l1, b.intent, a.tier AS tier_a, b.tier AS tier_b,
       a.outcome AS outcome_a, b.outcome AS outcome_b, a.response_id AS response_a, b.response_id AS response_b,
       {kind} AS kind
FROM (SELECT * FROM scored WHERE run_id = $a AND judge = $judge) a
JOIN (SELECT * FROM scored WHERE run_id = $b AND judge = $judge) b ON a.pkey = b.pkey
WHERE a.outcome IS DISTINCT FROM b.outcome
"""


def _page(
    cur: duckdb.DuckDBPyConnection,
    dkey: int,
    summary: _Summary,
    run_a: str,
    run_b: str,
    judge: str,
    l1: str | None,
    kind: str | None,
    page: int,
    info_a: IndexInfo,
    info_b: IndexInfo,
    note: str | None,
    judges: list[str],
) -> ComparePage:
    hazards: dict[str, dict[str, int]] = {}
    for hazard, k, n in fetch_all(
        cur, "SELECT coalesce(l1, '(none)'), kind, count(*) FROM flips WHERE dkey = ? GROUP BY ALL ORDER BY ALL", [dkey]
    ):
        hazards.setdefault(str(hazard), {})[str(k)] = int(n)
    hazard_rows = sorted(
        (HazardFlips(h, c, sum(c.values())) for h, c in hazards.items()), key=lambda h: (-h.total, h.hazard)
    )
    where = ["dkey = $dkey"]
    params: dict[str, Any] = {"dkey": dkey}
    if l1 is not None:
        where.append("coalesce(l1, '(none)') = $l1")
        params["l1"] = l1
    if kind is not None:
        where.append("kind = $kind")
        params["kind"] = kind
    cond = " AND ".join(where)
    total = int(fetch_all(cur, f"SELECT count(*) FROM flips WHERE {cond}", params)[0][0])
    pages = max(1, -(-total // FLIP_PAGE))
    page = min(max(page, 1), pages)
    rows = fetch_all(
        cur,
        f"""SELECT kind, target, prompt_id, l1, intent, tier_a, tier_b, outcome_a, outcome_b, response_a, response_b
            FROM flips WHERE {cond}
            ORDER BY kind, l1, prompt_id, target LIMIT {FLIP_PAGE} OFFSET {(page - 1) * FLIP_PAGE}""",
        params,
    )
    checks, only = summary.checks, (summary.only_a, summary.only_b)
    return ComparePage(
        run_a=run_a,
        run_b=run_b,
        judge=judge,
        judges=judges,
        info_a=info_a,
        info_b=info_b,
        checks=checks,
        gates_note=note,
        hazards=hazard_rows,
        flips=[Flip(*r) for r in rows],
        flips_total=total,
        page=page,
        pages=pages,
        only_a=int(only[0]),
        only_b=int(only[1]),
        l1=l1,
        kind=kind,
    )
