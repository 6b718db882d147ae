"""Retries a provider would approve of: bounded, backed off, never earlier than the server's Retry-After."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from judge.providers.errors import ErrorInfo
from judge.providers.flow import ReplicaSet

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


async def run_with_retries(
    attempt_fn: Callable[[int, str | None], Awaitable[tuple[T, ErrorInfo | None]]],
    policy: RetryPolicy,
    replicas: ReplicaSet,
) -> tuple[T, ErrorInfo | None]:
    """Call attempt_fn(attempt, base_url) until it succeeds, fails for good, or the item's budget is spent.

    Each attempt waits for a send slot on one of the model's replicas (base_url None: the
    provider's default endpoint). attempt_fn returns (value, None) on success or a final outcome,
    and (value, error) when the attempt failed; only retryable errors are tried again (tenacity
    drives the loop; a retry may go to another replica).
    """
    state = {"attempt": 0}

    async def one_attempt() -> tuple[T, ErrorInfo | None]:
        state["attempt"] += 1
        replica, sent_at = await replicas.acquire()
        answered = False
        try:
            value, err = await attempt_fn(state["attempt"], replica.base_url or None)
            answered = True
        finally:
            replicas.release(replica, sent_at, err if answered else None, answered=answered)
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
