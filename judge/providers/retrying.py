"""Retries a provider would approve of: bounded, backed off, never earlier than the server's Retry-After."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from judge.providers.base import SLOT_HOLDS, release_holds
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
    provider's default endpoint); a retry may go to another replica. attempt_fn returns (value,
    None) on success or a final outcome, and (value, error) when the attempt failed; only
    retryable errors are tried again, after policy.wait_for(), never past max_item_seconds.
    """
    started = time.monotonic()
    attempt = 0
    holds = SLOT_HOLDS.get()
    while True:
        attempt += 1
        if holds:
            release_holds(holds)  # an item waiting for a slot holds none (no two items wait on each other)
        replica, sent_at = await replicas.acquire()
        answered = final = False
        try:
            value, err = await attempt_fn(attempt, replica.base_url or None)
            answered = True
            final = err is None or not err.retryable or err.fatal or attempt >= policy.max_attempts
        finally:
            if final and holds is not None:
                holds.append(partial(replicas.release, replica, sent_at, err))  # freed once stored
            else:
                replicas.release(replica, sent_at, err if answered else None, answered=answered)
        if final:
            return value, err
        remaining = policy.max_item_seconds - (time.monotonic() - started)
        if remaining <= 0:
            return value, err
        await asyncio.sleep(min(policy.wait_for(attempt, err), remaining))
