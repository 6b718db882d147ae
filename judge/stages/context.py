"""What both stages need to know about the run in progress."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from judge.providers.base import CALL_GATE, SLOT_HOLDS, CallRecord, release_holds
from judge.rubric import Rubric
from judge.stages.budget import BudgetExceeded, BudgetMeter
from judge.stages.progress import NullProgress, ProgressSink
from judge.store.rows import ModelCallRow
from judge.store.writer import StoreWriter

T = TypeVar("T")
Job = Callable[[], Awaitable[T]]
WINDOW = 1024  # jobs alive at once (models bound their own concurrency; this bounds memory)
# results handled per turn of the event loop: a burst of answers frees its slots a few at a time, so
# the next requests go out while the rest of the burst is stored (not all after it)
HANDLE_AT_ONCE = 4
# jobs started per turn of the event loop: the first requests go out while the window fills
START_AT_ONCE = 64

__all__ = ["BudgetExceeded", "BudgetMeter", "RunContext", "run_all"]


@dataclass
class RunContext:
    run_id: str
    rubric: Rubric
    writer: StoreWriter
    progress: ProgressSink = field(default_factory=NullProgress)
    retry_errors: bool = True
    reuse_verdicts: bool = True
    reuse_responses: bool = False
    meter: BudgetMeter = field(default_factory=BudgetMeter)

    def record_fatal_calls(self, stage: str, model: str, model_key: str, item_id: str, exc: Any) -> None:
        """The calls of the item that met a run-stopping error (a 401, a 404): recorded once, though every
        waiting item re-raises the same error."""
        calls, exc.calls = getattr(exc, "calls", []), []
        self.record_calls(stage, model, model_key, item_id, calls)

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
            self.writer.add_row(row)


def _handle(
    finished: deque[asyncio.Future[Any]],
    alive: set[asyncio.Future[Any]],
    stopper: asyncio.Future[str] | None,
    on_done: Callable[[T], Any],
    most: int | None = None,
) -> str | None:
    """Hand finished jobs' results (at most `most`) to on_done, each then freeing the send slot it held;
    the budget's stop reason if the stopper fired."""
    stopped: str | None = None
    handled = 0
    while finished and (most is None or handled < most):
        handled += 1
        fut = finished.popleft()
        if fut is stopper:
            stopped = fut.result()
            continue
        alive.discard(fut)
        result, holds = fut.result()
        try:
            on_done(result)
        finally:
            release_holds(holds)
    return stopped


async def _holding(job: Job[T]) -> tuple[T, list[Callable[[], None]]]:
    """Run one job; the send slot of its last model request stays held until its result is handled."""
    holds: list[Callable[[], None]] = []
    SLOT_HOLDS.set(holds)  # this task's own context
    try:
        return await job(), holds
    except BaseException:
        release_holds(holds)
        raise


async def _aiter(jobs: Iterable[Job[T]] | AsyncIterable[Job[T]]) -> AsyncIterator[Job[T]]:
    if isinstance(jobs, AsyncIterable):
        async for job in jobs:
            yield job
    else:
        for job in jobs:
            yield job


async def run_all(
    jobs: Iterable[Job[T]] | AsyncIterable[Job[T]],
    on_done: Callable[[T], Any],
    *,
    meter: BudgetMeter | None = None,
    window: int = WINDOW,
) -> None:
    """Run jobs concurrently, at most `window` alive at once; handle results as they finish.

    Jobs are drawn lazily (a stream of a million prompts holds only the window in memory). If one
    job raises (e.g. fatal credentials), the rest are cancelled and the error propagates. When the
    budget refuses a request, the requests in flight finish and are handled, then the remaining jobs
    are cancelled and BudgetExceeded is raised. Each finished job is handled in O(1): its done
    callback queues it (asyncio.wait would re-register a callback on every alive job per wake-up).
    """
    source = _aiter(jobs).__aiter__()
    gate = CALL_GATE.set(meter) if meter is not None else None  # the jobs' tasks inherit it
    alive: set[asyncio.Future[tuple[T, list[Callable[[], None]]]]] = set()
    finished: deque[asyncio.Future[Any]] = deque()
    wake = asyncio.Event()

    def _finished(fut: asyncio.Future[Any]) -> None:
        finished.append(fut)
        wake.set()

    stopper = asyncio.ensure_future(meter.wait_drained()) if meter is not None else None
    if stopper is not None:
        stopper.add_done_callback(_finished)
    exhausted = False
    try:
        while True:
            while not exhausted and len(alive) < window and not (meter is not None and meter.stop_reason):
                try:
                    job = await source.__anext__()
                except StopAsyncIteration:
                    exhausted = True
                    break
                fut = asyncio.ensure_future(_holding(job))
                fut.add_done_callback(_finished)
                alive.add(fut)
                if len(alive) % START_AT_ONCE == 0:
                    await asyncio.sleep(0)  # the jobs just started send their requests meanwhile
            if not alive:
                break
            if not finished:
                wake.clear()
                await wake.wait()
            stopped = _handle(finished, alive, stopper, on_done, most=HANDLE_AT_ONCE)
            if finished and stopped is None:
                await asyncio.sleep(0)  # the requests whose send slots were just freed go out meanwhile
                continue
            if stopped is not None:
                for _ in range(3):  # jobs whose last answer is in finish within an iteration or two
                    await asyncio.sleep(0)
                _handle(finished, alive, stopper, on_done)
                raise BudgetExceeded(stopped)
        if meter is not None and meter.stop_reason:
            raise BudgetExceeded(meter.stop_reason)
    finally:
        rest: list[asyncio.Future[Any]] = [*alive, *([stopper] if stopper is not None else [])]
        for t in rest:
            t.remove_done_callback(_finished)
            if not t.done():
                t.cancel()
        # wait for the cancelled ones and retrieve every outcome, so no exception goes unobserved
        for outcome in await asyncio.gather(*rest, return_exceptions=True):
            if isinstance(outcome, tuple):  # finished but not handled (the run is ending): free its slot
                release_holds(outcome[1])
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
        if gate is not None:
            CALL_GATE.reset(gate)
