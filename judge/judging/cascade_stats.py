"""Per run: abstentions (`unsure` verdicts) and, for cascade judges, who decided, audit agreement and cost saved.

Audit agreement: on the audited items (a deterministic share of the confidently decided ones, sent
to the next stage too), how often the deciding stage's tier — and its binary side (comply:
full_instructions/partial; refuse: refusal/safe_deflection) — equals the next stage's, with a 95 %
Wilson interval. Cost saved: what sending every item to the last stage would have cost (its mean cost
per item where it was called, times the items) minus what the cascade spent.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb

from judge.stats import wilson_interval

COMPLY = ("full_instructions", "partial")


@dataclass(frozen=True)
class Agreement:
    agree: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.agree / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.agree, self.n)

    def describe(self) -> str:
        if not self.n:
            return "no audited items"
        lo, hi = wilson_interval(self.agree, self.n) or (0.0, 1.0)  # n > 0 here
        return f"{self.agree}/{self.n} = {self.agree / self.n:.1%} (95% CI {lo:.1%}–{hi:.1%})"


@dataclass
class CascadeStats:
    judge: str
    n: int = 0
    decided_by: Counter[str] = field(default_factory=Counter)
    unsure: int = 0
    errors: int = 0
    audited: int = 0
    tier_agreement: Agreement = Agreement(0, 0)
    binary_agreement: Agreement = Agreement(0, 0)
    cost_usd: float = 0.0
    all_to_last_usd: float | None = None  # estimated cost of sending every item to the last stage
    last_stage: str = ""
    last_stage_items: int = 0

    @property
    def saved_usd(self) -> float | None:
        return None if self.all_to_last_usd is None else self.all_to_last_usd - self.cost_usd

    def as_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "n": self.n,
            "decided_by": dict(self.decided_by),
            "unsure": self.unsure,
            "errors": self.errors,
            "audited": self.audited,
            "tier_agreement": self.tier_agreement.rate,
            "tier_agreement_ci": self.tier_agreement.interval,
            "binary_agreement": self.binary_agreement.rate,
            "binary_agreement_ci": self.binary_agreement.interval,
            "audit_n": self.binary_agreement.n,
            "cost_usd": self.cost_usd,
            "all_to_last_stage_usd": self.all_to_last_usd,
            "saved_usd": self.saved_usd,
            "last_stage": self.last_stage,
            "last_stage_items": self.last_stage_items,
        }

    def lines(self) -> list[str]:
        decided = ", ".join(f"{k}: {v}" for k, v in self.decided_by.most_common())
        out = [
            f"cascade {self.judge}: {self.n} items; decided by {decided or 'none'}; unsure {self.unsure}; "
            f"errors {self.errors}",
            f"  audit ({self.audited} items): tier agreement {self.tier_agreement.describe()}; "
            f"binary agreement {self.binary_agreement.describe()}",
        ]
        if self.all_to_last_usd is not None:
            out.append(
                f"  cost ${self.cost_usd:.4f} vs ${self.all_to_last_usd:.4f} sending all {self.n} items to "
                f"{self.last_stage} (saved ${self.saved_usd:.4f}; {self.last_stage} saw {self.last_stage_items})"
            )
        else:
            out.append(f"  cost ${self.cost_usd:.4f}; {self.last_stage} saw {self.last_stage_items} of {self.n} items")
        return out


def unsure_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple[str, str], int]:
    """(target, judge) -> number of `unsure` verdicts in the run."""
    rows = con.execute(
        "SELECT r.target, v.judge, count(*) FROM verdicts v JOIN responses r ON r.response_id = v.response_id "
        "WHERE v.run_id = ? AND v.status = 'unsure' GROUP BY ALL",
        [run_id],
    ).fetchall()
    return {(str(t), str(j)): int(n) for t, j, n in rows}


def unsure_in_errors(con: duckdb.DuckDBPyConnection) -> bool:
    """True while the `metrics` view has no `unsure` column, i.e. counts abstentions among its errors."""
    cols = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'metrics' AND column_name = 'unsure'"
    ).fetchall()
    return not cols


def _has_cascade_columns(con: duckdb.DuckDBPyConnection) -> bool:
    cols = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'verdicts' AND column_name = 'cascade'"
    ).fetchall()
    return bool(cols)


def cascade_stats(con: duckdb.DuckDBPyConnection, run_id: str) -> list[CascadeStats]:
    """One `CascadeStats` per cascade judge of the run (empty when the run has none)."""
    if not _has_cascade_columns(con):
        return []
    rows = con.execute(
        "SELECT judge, status, tier, decided_by, cascade, coalesce(cost_usd, 0) FROM verdicts "
        "WHERE run_id = ? AND cascade IS NOT NULL ORDER BY judge, verdict_id",
        [run_id],
    ).fetchall()
    out: dict[str, CascadeStats] = {}
    last_costs: dict[str, list[float]] = {}
    for judge, status, tier, decided_by, info_json, cost in rows:
        st = out.setdefault(judge, CascadeStats(judge))
        info = json.loads(info_json) if isinstance(info_json, str) else (info_json or {})
        _add(st, status, tier, decided_by, info, float(cost), last_costs.setdefault(judge, []))
    for judge, st in out.items():
        costs = last_costs[judge]
        st.last_stage_items = len(costs)
        if costs and all(c is not None for c in costs):
            st.all_to_last_usd = sum(costs) / len(costs) * st.n
    return list(out.values())


def _add(
    st: CascadeStats, status: str, tier: str | None, decided_by: str | None, info: dict[str, Any], cost: float,
    last_costs: list[float],
) -> None:  # fmt: skip
    st.n += 1
    st.cost_usd += cost
    if status == "ok" and decided_by:
        st.decided_by[decided_by] += 1
    elif status == "unsure":
        st.unsure += 1
    elif status == "error":
        st.errors += 1
    st.last_stage = st.last_stage or str(info.get("last_stage") or "")
    for s in info.get("stages") or []:
        if s.get("stage") == info.get("last_stage"):
            last_costs.append(s.get("cost_usd"))
    if info.get("audit"):
        st.audited += 1
        check = info.get("audit_tier")
        if status == "ok" and tier and check:
            ta, ba = st.tier_agreement, st.binary_agreement
            st.tier_agreement = Agreement(ta.agree + (tier == check), ta.n + 1)
            st.binary_agreement = Agreement(ba.agree + ((tier in COMPLY) == (check in COMPLY)), ba.n + 1)
