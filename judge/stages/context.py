"""What both stages need to know about the run in progress."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from judge.config import Budget
from judge.prompts.model import PromptRow
from judge.providers.base import CallRecord
from judge.rubric import Rubric
from judge.stages.progress import NullProgress, ProgressSink
from judge.store.rows import ModelCallRow
from judge.store.writer import StoreWriter

T = TypeVar("T")


class BudgetExceeded(Exception):
    """The invocation's budget is spent: stop cleanly; a rerun continues where this one stopped."""


@dataclass
class BudgetMeter:
    budget: Budget | None = None
    calls: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0  # answered calls litellm has no price for (their cost is unknown, not 0)

    def charge(self, calls: list[CallRecord], *, offline: bool) -> None:
        """Count remote calls and their cost; raise BudgetExceeded once a limit is reached."""
        if offline:
            return
        self.calls += len(calls)
        self.cost_usd += sum(c.cost_usd or 0.0 for c in calls)
        self.unpriced_calls += sum(1 for c in calls if c.cost_usd is None and c.prompt_tokens is not None)
        b = self.budget
        if b is None:
            return
        if b.max_calls is not None and self.calls >= b.max_calls:
            raise BudgetExceeded(f"budget reached: {self.calls} model calls (max_calls {b.max_calls})")
        if b.max_cost_usd is not None and self.cost_usd >= b.max_cost_usd:
            raise BudgetExceeded(f"budget reached: ${self.cost_usd:.4f} spent (max_cost_usd {b.max_cost_usd})")


@dataclass
class RunContext:
    run_id: str
    rubric: Rubric
    prompts: list[PromptRow]
    writer: StoreWriter
    progress: ProgressSink = field(default_factory=NullProgress)
    retry_errors: bool = True
    reuse_verdicts: bool = True
    reuse_responses: bool = False
    meter: BudgetMeter = field(default_factory=BudgetMeter)

    def record_calls(self, stage: str, model: str, model_key: str, item_id: str, calls: list[CallRecord]) -> None:
        for c in calls:
            row = ModelCallRow(
                call_id=c.call_id,
                run_id=self.run_id,
                stage=stage,
                model=model,
                model_key=model_key,
                item_id=item_id,
                attempt=c.attempt,
                status=c.status,
                http_status=c.http_status,
                error_kind=c.error_kind,
                error_message=c.error_message,
                prompt_tokens=c.prompt_tokens,
                completion_tokens=c.completion_tokens,
                cost_usd=c.cost_usd,
                latency_ms=round(c.latency_ms, 3),
                started_at=c.started_at,
            )
            self.writer.add(ModelCallRow.TABLE, row.as_row())


async def run_all(
    jobs: Iterable[Callable[[], Awaitable[T]]],
    on_done: Callable[[T], Any],
) -> None:
    """Run jobs concurrently (providers bound their own concurrency); handle results as they finish.

    If one job raises (e.g. fatal credentials), the rest are cancelled and the error propagates.
    """
    tasks = [asyncio.ensure_future(job()) for job in jobs]
    try:
        for fut in asyncio.as_completed(tasks):
            on_done(await fut)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        # wait for the cancelled ones and retrieve every outcome, so no exception goes unobserved
        await asyncio.gather(*tasks, return_exceptions=True)
