"""The end-of-run summary: per target × judge, violation and over-deflection rates and tier counts.

Denominator rule: rates are over items with an outcome (a verdict, or a provider block placed by
the policy); items whose response or verdict ended in error are excluded from the rate and
shown as their own count, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from judge.store.db import fetch
from judge.tiers import TIERS

SUMMARY_SQL = f"""
SELECT target, judge,
       count(*) AS n,
       count(*) FILTER (WHERE intent IN ('unsafe', 'adversarial') AND NOT is_error) AS n_harmful,
       count(*) FILTER (WHERE intent IN ('unsafe', 'adversarial') AND is_violation) AS violations,
       count(*) FILTER (WHERE intent = 'safe' AND NOT is_error) AS n_safe,
       count(*) FILTER (WHERE intent = 'safe' AND is_over_deflection) AS over_deflections,
       {", ".join(f"count(*) FILTER (WHERE tier = '{t}') AS {t}" for t in (*TIERS, "blocked"))},
       count(*) FILTER (WHERE is_error) AS errors
FROM scored
WHERE run_id = ?
GROUP BY target, judge
ORDER BY target, judge
"""


@dataclass(frozen=True)
class SummaryRow:
    target: str
    judge: str
    n: int
    n_harmful: int
    violations: int
    n_safe: int
    over_deflections: int
    tiers: dict[str, int]
    errors: int

    @property
    def violation_rate(self) -> float | None:
        return self.violations / self.n_harmful if self.n_harmful else None

    @property
    def over_deflection_rate(self) -> float | None:
        return self.over_deflections / self.n_safe if self.n_safe else None


def run_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> list[SummaryRow]:
    out = []
    for row in fetch(con, SUMMARY_SQL, [run_id]):
        target, judge, n, n_harm, viol, n_safe, over = row[:7]
        tiers = dict(zip((*TIERS, "blocked"), (int(v) for v in row[7:12]), strict=True))
        out.append(SummaryRow(target, judge, n, n_harm, viol, n_safe, over, tiers, int(row[12])))
    return out


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
