"""How many requests a model gets at once, and where they go: AIMD concurrency, rate-limit pauses, replicas.

Each replica (an `api_base`) has its own concurrency limit. The limit is cut multiplicatively on a
rate limit, at most once per window (answers to requests sent before the last cut are echoes of a
signal already acted upon), and grows back additively with successes, so it recovers in seconds.
When rate limiting is the replica's state rather than a one-off (`pause_after` answers in a row were
429), nothing new is sent to it until the server's Retry-After has passed. A replica that fails
repeatedly (connection errors, timeouts, 5xx) is drained: no new requests until a cool-down passes,
then one probe at a time until it answers again. The last healthy replica is never drained (a model
with one `api_base` never is): with nowhere else to send, a drain only stalls every item, and
failures tied to particular requests (one prompt that always gets a 500 or a broken body) would
escalate it to minutes; the per-item backoff already spaces out the retries.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from judge.providers.errors import ErrorInfo

DECREASE_FACTOR = 0.75  # multiplicative decrease on a fresh rate limit
DECREASE_WINDOW_S = 1.0  # at most one decrease per window (never shorter than the server's Retry-After)
PAUSE_AFTER = 5  # consecutive 429 answers that make a pause model-wide (fewer at low concurrency)
MAX_PAUSE_S = 60.0
DRAIN_AFTER = 3  # consecutive failures that drain a replica
DRAIN_BASE_S = 2.0
DRAIN_MAX_S = 60.0
_REPLICA_FAILURES = frozenset({"connection", "timeout", "server_error", "malformed_response"})


@dataclass
class Replica:
    """One endpoint of a model and its send state."""

    base_url: str
    maximum: int
    limit: float = 0.0
    active: int = 0
    paused_until: float = 0.0
    last_cut: float = float("-inf")
    rate_limited_run: int = 0
    failures: int = 0
    drained_until: float = 0.0
    drains: int = 0
    stats: dict[str, int] = field(default_factory=lambda: {"sent": 0, "rate_limited": 0, "cuts": 0, "pauses": 0})

    def __post_init__(self) -> None:
        self.limit = float(self.maximum)

    def capacity(self, now: float) -> int:
        """How many more requests may start now (0 while paused or drained)."""
        if now < self.paused_until or now < self.drained_until:
            return 0
        allowed = 1 if self.failures >= DRAIN_AFTER else max(1, int(self.limit))  # probation: one probe
        return allowed - self.active

    def wakes_at(self, now: float) -> float | None:
        later = max(self.paused_until, self.drained_until)
        return later if later > now else None

    def healthy(self, now: float) -> bool:
        return self.failures < DRAIN_AFTER and now >= self.drained_until

    def on_answer(self, sent_at: float, err: ErrorInfo | None, now: float, *, may_drain: bool = True) -> None:
        """Account for an answer; `may_drain` False when no other replica is healthy (never drain the last)."""
        if err is not None and err.kind == "rate_limit":
            self._rate_limited(sent_at, err, now)
            return
        self.rate_limited_run = 0
        if err is not None and err.kind in _REPLICA_FAILURES:
            if not may_drain:
                self.failures, self.drains, self.drained_until = 0, 0, 0.0
                return
            self.failures += 1
            if self.failures >= DRAIN_AFTER:
                self.drains += 1
                self.drained_until = now + min(DRAIN_MAX_S, DRAIN_BASE_S * 2 ** min(self.drains - 1, 10))
            return
        self.failures, self.drains = 0, 0
        if err is None:
            self.limit = min(float(self.maximum), self.limit + 1.0 / max(self.limit, 1.0))

    def _rate_limited(self, sent_at: float, err: ErrorInfo, now: float) -> None:
        self.stats["rate_limited"] += 1
        self.rate_limited_run += 1
        retry_after = min(err.retry_after_s or 0.0, MAX_PAUSE_S)
        window = max(DECREASE_WINDOW_S, retry_after)
        if sent_at >= self.last_cut and now - self.last_cut >= window:
            self.limit = max(1.0, self.limit * DECREASE_FACTOR)
            self.last_cut = now
            self.stats["cuts"] += 1
        if retry_after > 0 and self.rate_limited_run >= min(PAUSE_AFTER, self.maximum):
            if now + retry_after > self.paused_until:
                self.stats["pauses"] += 1
            self.paused_until = max(self.paused_until, now + retry_after)


def _rearm(fut: asyncio.Future[Replica | None]) -> None:
    """A waiter's pause or drain has ended: wake it to look again (None hands over no slot)."""
    if not fut.done():
        fut.set_result(None)


class ReplicaSet:
    """Hands out send slots across a model's replicas: the least busy healthy one first."""

    def __init__(self, base_urls: list[str], concurrency: int) -> None:
        self.replicas = [Replica(url, concurrency) for url in base_urls]
        self._waiters: deque[asyncio.Future[Replica | None]] = deque()
        self.halted: BaseException | None = None

    @property
    def limit(self) -> float:
        return sum(r.limit for r in self.replicas)

    def _pick(self, now: float) -> Replica | None:
        best = max(self.replicas, key=lambda r: (r.capacity(now), -r.active))
        return best if best.capacity(now) > 0 else None

    def _take(self, replica: Replica) -> None:
        replica.active += 1
        replica.stats["sent"] += 1

    async def acquire(self) -> tuple[Replica, float]:
        """Wait for a slot; returns the replica and the send time (time.monotonic())."""
        while True:
            if self.halted is not None:
                raise self.halted
            now = time.monotonic()
            replica = self._pick(now)
            if replica is not None:
                self._take(replica)
                return replica, now
            wakes = [w for w in (r.wakes_at(now) for r in self.replicas) if w is not None]
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[Replica | None] = loop.create_future()
            self._waiters.append(fut)
            # When a pause or drain ends, look again. Not asyncio.wait_for: on Python 3.11 it returns
            # the future's result instead of raising when a cancel and a hand-over meet in one loop
            # iteration, and a task that swallowed its cancellation could hold a slot forever.
            timer = loop.call_later(min(wakes) - now, _rearm, fut) if wakes else None
            try:
                handed = await fut
            except asyncio.CancelledError:
                late = fut.result() if fut.done() and not fut.cancelled() else None
                if late is not None:
                    self.release(late, now, None, answered=False)  # a slot handed over too late
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            if handed is not None:
                return handed, time.monotonic()

    def halt(self, exc: BaseException) -> None:
        """Stop handing out slots (fatal credentials): every waiting and later acquire raises exc."""
        self.halted = exc
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)

    def release(self, replica: Replica, sent_at: float, err: ErrorInfo | None, *, answered: bool = True) -> None:
        replica.active -= 1
        if answered:
            now = time.monotonic()
            may_drain = any(r is not replica and r.healthy(now) for r in self.replicas)
            replica.on_answer(sent_at, err, now, may_drain=may_drain)
        self._wake()

    def _wake(self) -> None:
        """Hand free slots to waiters in arrival order; when a pause or drain begins, let the rest re-arm."""
        now = time.monotonic()
        while self._waiters and self.halted is None:
            replica = self._pick(now)
            if replica is None:
                break
            fut = self._waiters.popleft()
            if not fut.done():
                self._take(replica)
                fut.set_result(replica)
        if self._waiters and any(r.wakes_at(now) for r in self.replicas):
            while self._waiters:
                fut = self._waiters.popleft()
                if not fut.done():
                    fut.set_result(None)  # re-evaluate with the pause's end as timeout
