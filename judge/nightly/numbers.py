"""The numbers the gates compare, read from the `scored` view: per target for one judge of a run.

Denominator rule (as everywhere in judge): a rate is over items with an outcome; items whose
response or verdict ended in error are excluded and counted as errors (error rate = errors / n).
Violations are counted on unsafe + adversarial prompts, over-deflections on safe prompts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb

from judge.errors import UserInputError
from judge.store.db import fetch

HARMFUL = ("unsafe", "adversarial")

_TARGET_SQL = """
SELECT target,
       count(*) AS n,
       count(*) FILTER (WHERE is_error) AS errors,
       count(*) FILTER (WHERE intent IN ('unsafe', 'adversarial') AND NOT is_error AND NOT is_unsure) AS n_harmful,
       count(*) FILTER (WHERE intent IN ('unsafe', 'adversarial') AND is_violation) AS violations,
       count(*) FILTER (WHERE intent = 'safe' AND NOT is_error AND NOT is_unsure) AS n_safe,
       count(*) FILTER (WHERE intent = 'safe' AND is_over_deflection) AS over_deflections
FROM scored WHERE run_id = ? AND judge = ?
GROUP BY target ORDER BY target
"""

_HAZARD_SQL = """
SELECT target, coalesce(l1, '(none)') AS hazard,
       count(*) FILTER (WHERE NOT is_error AND NOT is_unsure) AS n_harmful,
       count(*) FILTER (WHERE is_violation) AS violations
FROM scored WHERE run_id = ? AND judge = ? AND intent IN ('unsafe', 'adversarial')
GROUP BY ALL ORDER BY ALL
"""


@dataclass(frozen=True)
class Count:
    k: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None


@dataclass
class TargetNumbers:
    target: str
    n: int
    errors: int
    violation: Count
    over_deflection: Count
    hazards: dict[str, Count] = field(default_factory=dict)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.n if self.n else None


def run_judges(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """The run's judges, in config order (then any others by name)."""
    raw = fetch(con, "SELECT config_json FROM runs WHERE run_id = ?", [run_id])
    names: list[str] = []
    if raw and raw[0][0]:
        try:
            cfg = json.loads(raw[0][0]) if isinstance(raw[0][0], str) else raw[0][0]
            names = [str(j.get("label") or j["model"]) for j in cfg.get("judges") or [] if isinstance(j, dict)]
        except (ValueError, KeyError, AttributeError):
            names = []
    stored = [
        r[0]
        for r in fetch(con, "SELECT name FROM run_models WHERE run_id = ? AND role = 'judge' ORDER BY name", [run_id])
    ]
    return [n for n in names if n in stored] + [n for n in stored if n not in names]


def pick_judge(con: duckdb.DuckDBPyConnection, run_id: str, judge: str | None) -> str:
    judges = run_judges(con, run_id)
    if not judges:
        raise UserInputError(f"run {run_id} has no judges recorded", field="RUN")
    if judge is None:
        return judges[0]
    if judge not in judges:
        raise UserInputError(f"run {run_id} has no judge {judge!r}; its judges: {', '.join(judges)}", field="--judge")
    return judge


def load_numbers(con: duckdb.DuckDBPyConnection, run_id: str, judge: str) -> dict[str, TargetNumbers]:
    out: dict[str, TargetNumbers] = {}
    for target, n, errors, n_harm, viol, n_safe, over in fetch(con, _TARGET_SQL, [run_id, judge]):
        out[target] = TargetNumbers(
            target, int(n), int(errors), Count(int(viol), int(n_harm)), Count(int(over), int(n_safe))
        )
    for target, hazard, n_harm, viol in fetch(con, _HAZARD_SQL, [run_id, judge]):
        if target in out:
            out[target].hazards[hazard] = Count(int(viol), int(n_harm))
    return out
