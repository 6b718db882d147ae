"""The end-of-run summary: per target × judge, violation and over-deflection rates and tier counts.

Read from the `metrics` view, so it applies the same denominator rule as every report: rates are
over items with an outcome (a verdict, or a provider block placed by the policy); items whose
response or verdict ended in error are excluded from the rate and shown as their own count.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from judge.analysis.metrics import MetricRow, metric_rows


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
    rows = metric_rows(con, run_id, levels=("overall",), intents=("harmful", "safe", "all"))
    by_key: dict[tuple[str, str], dict[str, MetricRow]] = {}
    for r in rows:
        by_key.setdefault((r.target, r.judge), {})[r.intent] = r
    out = []
    for (target, judge), scopes in sorted(by_key.items()):
        everything = scopes["all"]
        harmful, safe = scopes.get("harmful"), scopes.get("safe")
        out.append(
            SummaryRow(
                target=target,
                judge=judge,
                n=everything.n,
                n_harmful=harmful.n_scored if harmful else 0,
                violations=harmful.violations if harmful else 0,
                n_safe=safe.n_scored if safe else 0,
                over_deflections=safe.over_deflections if safe else 0,
                tiers=everything.tiers,
                errors=everything.errors,
            )
        )
    return out


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def error_kinds(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, int]]:
    """(stage, error kind, count) of the run's items that ended in error, most frequent first."""
    rows = con.execute(
        """SELECT 'generate' AS stage, coalesce(error_kind, 'unknown') AS kind, count(*) AS n
           FROM responses WHERE run_id = $1 AND status = 'error' GROUP BY ALL
           UNION ALL
           SELECT 'grade', coalesce(error_kind, 'unknown'), count(*)
           FROM verdicts WHERE run_id = $1 AND status = 'error' GROUP BY ALL
           ORDER BY n DESC, stage, kind""",
        [run_id],
    ).fetchall()
    return [(str(s), str(k), int(n)) for s, k, n in rows]
