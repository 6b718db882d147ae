"""The verdict table's query string: validated filters, sort and page, turned into SQL over the run index.

Every filter is a closed set or an exact value bound as a parameter; the sort column comes from a
whitelist. A bad value is a 400 with one line naming the parameter, never a silently ignored filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from judge.tiers import TIERS

TIER_CHOICES = (*TIERS, "blocked")
OUTCOMES = ("violation", "over_deflection", "acceptable", "none")
INTENTS = ("safe", "unsafe", "adversarial")
STATUSES = ("ok", "error", "blocked", "unsure")
PAGE_SIZES = (25, 50, 100, 200)
MAX_QUERY_CHARS = 200

# sort key -> ORDER BY over the run index's integer ranks (judge.view.index), ending in the unique default
# order `okey` (prompt, then target, judge and response)
SORTS: dict[str, str] = {
    "prompt": "s.okey {d}",
    "target": "s.ord_target {d}, s.okey",
    "judge": "s.ord_judge {d}, s.okey",
    "hazard": "s.ord_l1 {d} NULLS LAST, s.okey",
    "intent": "s.ord_intent {d}, s.okey",
    "tier": "s.ord_tier {d} NULLS LAST, s.okey",
    "outcome": "s.ord_outcome {d} NULLS LAST, s.okey",
    "confidence": "s.confidence {d} NULLS LAST, s.okey",
    "technique": "s.ord_technique {d} NULLS LAST, s.okey",
}
FILTER_KEYS = (
    "target",
    "judge",
    "tier",
    "outcome",
    "intent",
    "l1",
    "l2",
    "technique",
    "status",
    "disagree",
    "gold",
    "q",
    "vs",
    "vs_tier",
)


class BadQuery(ValueError):
    """A query-string value the table cannot use (shown as one line, HTTP 400)."""


class VerdictQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str | None = None
    judge: str | None = None
    tier: str | None = None
    outcome: str | None = None
    intent: str | None = None
    l1: str | None = None
    l2: str | None = None
    technique: str | None = None
    status: str | None = None
    disagree: bool = False
    gold: str | None = None  # "1": has a gold label, "0": has none
    q: str | None = Field(default=None, max_length=MAX_QUERY_CHARS)
    vs: str | None = None  # another judge of the run ...
    vs_tier: str | None = None  # ... that gave this tier to the same response
    sort: str = "prompt"
    page: int = Field(default=1, ge=1)
    per: int = 50

    @field_validator("tier", "vs_tier")
    @classmethod
    def _tier(cls, v: str | None) -> str | None:
        return _closed(v, TIER_CHOICES)

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, v: str | None) -> str | None:
        return _closed(v, OUTCOMES)

    @field_validator("intent")
    @classmethod
    def _intent(cls, v: str | None) -> str | None:
        return _closed(v, INTENTS)

    @field_validator("status")
    @classmethod
    def _status(cls, v: str | None) -> str | None:
        return _closed(v, STATUSES)

    @field_validator("gold")
    @classmethod
    def _gold(cls, v: str | None) -> str | None:
        return _closed(v, ("1", "0"))

    @field_validator("sort")
    @classmethod
    def _sort(cls, v: str) -> str:
        if v.lstrip("-") not in SORTS:
            raise ValueError(f"expected one of {', '.join(SORTS)} (prefix - for descending)")
        return v

    @field_validator("per")
    @classmethod
    def _per(cls, v: int) -> int:
        if v not in PAGE_SIZES:
            raise ValueError(f"expected one of {', '.join(map(str, PAGE_SIZES))}")
        return v

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> VerdictQuery:
        """From a query string: empty values mean 'no filter'; unknown names and bad values raise BadQuery."""
        raw: dict[str, Any] = {k: v for k, v in params.items() if v != "" and k != "token"}
        if raw.get("disagree") not in (None, "1", "0"):
            raise BadQuery("parameter 'disagree': expected 1 or 0")
        if "disagree" in raw:
            raw["disagree"] = raw["disagree"] == "1"
        for key in ("page", "per"):
            if key in raw:
                if not str(raw[key]).isdigit() or len(str(raw[key])) > 9:
                    raise BadQuery(f"parameter '{key}': expected a positive whole number")
                raw[key] = int(raw[key])
        try:
            query = cls.model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            name = ".".join(str(p) for p in err["loc"]) or "query"
            msg = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            raise BadQuery(f"parameter '{name}': {msg}") from None
        if (query.vs is None) != (query.vs_tier is None):
            raise BadQuery("parameters 'vs' and 'vs_tier' go together")
        return query

    # ------------------------------------------------------------------ SQL

    def where(self, run_id: str, *, hits_table: str | None, gold_ids: list[str] | None) -> tuple[str, dict[str, Any]]:
        """WHERE clause over `scored s` (the run index) and its parameters."""
        clauses = ["s.run_id = $run"]
        params: dict[str, Any] = {"run": run_id}
        for name in ("target", "judge", "intent", "l1", "l2", "technique"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"s.{name} = ${name}")
                params[name] = value
        if self.tier is not None:
            clauses.append("s.tier = $tier")
            params["tier"] = self.tier
        if self.outcome == "none":
            clauses.append("s.outcome IS NULL")
        elif self.outcome is not None:
            clauses.append("s.outcome = $outcome")
            params["outcome"] = self.outcome
        if self.status is not None:
            clauses.append(_STATUS_SQL[self.status])
        if self.disagree:
            clauses.append("s.disagree")
        if self.vs is not None:
            clauses.append(
                "s.response_id IN (SELECT o.response_id FROM scored o WHERE o.run_id = $run "
                "AND o.judge = $vs AND o.verdict_status = 'ok' AND o.tier = $vs_tier)"
            )
            params["vs"], params["vs_tier"] = self.vs, self.vs_tier
        if gold_ids is not None:
            clauses.append(("" if self.gold == "1" else "NOT ") + "(s.response_id = ANY($gold_ids::VARCHAR[]))")
            params["gold_ids"] = gold_ids
        if hits_table is not None:
            clauses.append(f"s.response_id IN (SELECT response_id FROM {hits_table} WHERE qkey = $qkey)")
        return " AND ".join(clauses), params

    def order_by(self) -> str:
        key = self.sort.lstrip("-")
        return SORTS[key].format(d="DESC" if self.sort.startswith("-") else "ASC")

    # ------------------------------------------------------------------ links

    def filters(self) -> dict[str, str]:
        """The active filters as query-string values."""
        out: dict[str, str] = {}
        for key in FILTER_KEYS:
            value = getattr(self, key)
            if value is True:
                out[key] = "1"
            elif value not in (None, False):
                out[key] = str(value)
        return out

    def link(self, **changes: Any) -> str:
        """This query's string with some values changed (None removes one); page resets unless given."""
        values: dict[str, Any] = {**self.filters(), "sort": self.sort, "per": self.per}
        values.update({k: v for k, v in changes.items()})
        if "page" not in changes:
            values.pop("page", None)
        if values.get("sort") == "prompt":
            values.pop("sort")
        if values.get("per") == 50:
            values.pop("per")
        return "?" + urlencode({k: v for k, v in values.items() if v not in (None, "", False)})


_STATUS_SQL = {
    "ok": "s.verdict_status = 'ok' AND s.response_status = 'ok'",
    "error": "s.is_error AND s.response_status <> 'blocked' AND coalesce(s.verdict_status, '') <> 'unsure'",
    "blocked": "s.response_status = 'blocked'",
    "unsure": "s.verdict_status = 'unsure'",
}


def _closed(value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is not None and value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}")
    return value
