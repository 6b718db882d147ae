"""The invocation's budget: every paid request is reserved before it is sent, then settled with its cost.

`max_calls` counts HTTP requests (retries and re-asks included) and is never exceeded: a request
that would exceed it is not sent. `max_cost_usd` is held against the spent cost plus an estimate
for each request in flight (the most expensive request of that model seen so far); while a model's
price is unknown its requests go one at a time, so at most one request of unknown cost is in flight.
When a request is refused the run stops: requests in flight finish and are stored, nothing new is sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from judge.config import Budget


class BudgetExceeded(Exception):
    """The invocation's budget is spent: stop cleanly; a rerun continues where this one stopped."""


@dataclass
class _Ticket:
    meter: BudgetMeter
    model: str
    estimate: float
    settled: bool = False

    def settle(self, cost_usd: float | None, *, answered: bool) -> None:
        if not self.settled:
            self.settled = True
            self.meter._settle(self, cost_usd, answered=answered)


@dataclass
class BudgetMeter:
    """Counts paid requests and their cost for one invocation (offline models are never counted)."""

    budget: Budget | None = None
    calls: int = 0  # requests sent (reserved), retries included
    cost_usd: float = 0.0  # settled cost of answered requests
    unpriced_calls: int = 0  # answered requests litellm has no price for (their cost is unknown, not 0)
    in_flight: int = 0
    stop_reason: str | None = None
    _reserved_usd: float = 0.0
    _max_seen: dict[str, float] = field(default_factory=dict)  # model -> most expensive request so far
    _in_flight_by_model: dict[str, int] = field(default_factory=dict)
    _changed: asyncio.Event | None = None

    # ---- the provider hook (judge.providers.base.CallGate) -----------------------------------------
    async def reserve(self, model: str) -> _Ticket:
        """Reserve one request, waiting for requests in flight when only they stand in the way.

        A request the budget cannot allow is never sent: the meter records why it stopped and this
        coroutine waits until the stage cancels it (see `run_all`).
        """
        while True:
            if self.stop_reason is None:
                verdict = self._admit(model)
                if verdict == "yes":
                    estimate = self._max_seen.get(model, 0.0)
                    self.calls += 1
                    self.in_flight += 1
                    self._reserved_usd += estimate
                    self._in_flight_by_model[model] = self._in_flight_by_model.get(model, 0) + 1
                    return _Ticket(self, model, estimate)
                if verdict != "wait":
                    self.stop(verdict)
            await self._wait_for_change()

    def _admit(self, model: str) -> str:
        """'yes', 'wait' (requests in flight may free room) or the reason the budget stops the run."""
        b = self.budget
        if b is None:
            return "yes"
        if b.max_calls is not None and self.calls >= b.max_calls:
            return f"budget reached: {self.calls} model calls (max_calls {b.max_calls})"
        if b.max_cost_usd is None:
            return "yes"
        if self.cost_usd >= b.max_cost_usd:
            return f"budget reached: ${self.cost_usd:.4f} spent (max_cost_usd {b.max_cost_usd})"
        if model not in self._max_seen and self._in_flight_by_model.get(model, 0) > 0:
            return "wait"  # price unknown: one request at a time until one is answered
        committed = self.cost_usd + self._reserved_usd + self._max_seen.get(model, 0.0)
        if committed > b.max_cost_usd:
            if self.in_flight:
                return "wait"
            return f"budget reached: ${self.cost_usd:.4f} spent (max_cost_usd {b.max_cost_usd})"
        return "yes"

    def _settle(self, ticket: _Ticket, cost_usd: float | None, *, answered: bool) -> None:
        self.in_flight -= 1
        self._reserved_usd = max(0.0, self._reserved_usd - ticket.estimate)
        self._in_flight_by_model[ticket.model] -= 1
        if cost_usd is not None:
            self.cost_usd += cost_usd
            self._max_seen[ticket.model] = max(self._max_seen.get(ticket.model, 0.0), cost_usd)
        elif answered:
            self.unpriced_calls += 1
            self._max_seen.setdefault(ticket.model, 0.0)  # unpriced: counted, never blocks on cost
        self._notify()

    # ---- calls answered after the fact (provider batches: paid when collected) -----------------------
    def grant(self, wanted: int) -> int:
        """How many of `wanted` requests may be sent in one batch (they are counted now)."""
        if self.stop_reason is not None:
            return 0
        allowed = wanted
        b = self.budget
        if b is not None and b.max_calls is not None:
            allowed = max(0, min(wanted, b.max_calls - self.calls))
        if b is not None and b.max_cost_usd is not None and self.cost_usd >= b.max_cost_usd:
            allowed = 0
        self.calls += allowed
        if allowed < wanted:
            self.stop(self._admit("") if self._admit("") != "yes" else "budget reached")
        return allowed

    def add_cost(self, cost_usd: float | None, *, answered: bool) -> None:
        """The cost of a request counted by `grant`, once its answer is in."""
        if cost_usd is not None:
            self.cost_usd += cost_usd
        elif answered:
            self.unpriced_calls += 1

    # ---- stopping ----------------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._notify()

    @property
    def drained(self) -> bool:
        """Stopped, and no reserved request is still waiting for its answer."""
        return self.stop_reason is not None and self.in_flight == 0

    async def wait_drained(self) -> str:
        """Wait until the budget stopped the run and every request in flight is answered."""
        while not self.drained:
            await self._wait_for_change()
        return self.stop_reason or ""

    def _notify(self) -> None:
        """Wake every waiter; each re-checks and, if it must go on waiting, waits on a new event."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _wait_for_change(self) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        await self._changed.wait()
