"""Retries a provider would approve of, and concurrency that backs off when rate-limited."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from judge.providers.errors import ErrorInfo

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    max_item_seconds: float = 300.0  # bounded total time per item, waits included
    initial_wait_s: float = 0.5
    max_wait_s: float = 30.0

    def wait_for(self, attempt: int, info: ErrorInfo | None) -> float:
        """Exponential backoff with full jitter, never shorter than the server's Retry-After."""
        backoff = min(self.max_wait_s, self.initial_wait_s * (2 ** (attempt - 1)))
        wait = random.uniform(backoff / 2, backoff)
        if info is not None and info.retry_after_s is not None:
            wait = max(wait, min(info.retry_after_s, self.max_wait_s))
        return wait


class AdaptiveLimiter:
    """A concurrency limit that halves on rate limits and grows back by one after successes."""

    def __init__(self, maximum: int, *, recover_after: int = 10) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.recover_after = recover_after
        self._active = 0
        self._streak = 0
        self._cond = asyncio.Condition()

    async def __aenter__(self) -> AdaptiveLimiter:
        async with self._cond:
            await self._cond.wait_for(lambda: self._active < self.limit)
            self._active += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def record(self, *, rate_limited: bool) -> None:
        if rate_limited:
            self.limit = max(1, self.limit // 2)
            self._streak = 0
            return
        self._streak += 1
        if self._streak >= self.recover_after and self.limit < self.maximum:
            self.limit += 1
            self._streak = 0


async def run_with_retries(
    attempt_fn: Callable[[int], Awaitable[tuple[T, ErrorInfo | None]]],
    policy: RetryPolicy,
    limiter: AdaptiveLimiter | None = None,
) -> tuple[T, ErrorInfo | None]:
    """Call attempt_fn(attempt) until it succeeds, fails for good, or the item's budget is spent.

    attempt_fn returns (value, None) on success or a final outcome, and (value, error) when the
    attempt failed; only retryable errors are tried again (tenacity drives the loop).
    """
    state = {"attempt": 0}

    async def one_attempt() -> tuple[T, ErrorInfo | None]:
        state["attempt"] += 1
        if limiter is None:
            return await attempt_fn(state["attempt"])
        async with limiter:
            value, err = await attempt_fn(state["attempt"])
        limiter.record(rate_limited=err is not None and err.kind == "rate_limit")
        return value, err

    def should_retry(result: tuple[T, ErrorInfo | None]) -> bool:
        err = result[1]
        return err is not None and err.retryable and not err.fatal

    def wait(retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        err = outcome.result()[1] if outcome is not None and not outcome.failed else None
        delay = policy.wait_for(retry_state.attempt_number, err) if err else policy.initial_wait_s
        # never sleep past the item's time budget: stop instead
        remaining = policy.max_item_seconds - (retry_state.seconds_since_start or 0.0)
        return max(0.0, min(delay, remaining))

    retrying = tenacity.AsyncRetrying(
        retry=tenacity.retry_if_result(should_retry),
        stop=tenacity.stop_after_attempt(policy.max_attempts) | tenacity.stop_before_delay(policy.max_item_seconds),
        wait=wait,
        retry_error_callback=lambda rs: rs.outcome.result() if rs.outcome else None,
        reraise=True,
    )
    result: tuple[T, ErrorInfo | None] = await retrying(one_attempt)
    return result
