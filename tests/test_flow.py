"""Flow control: AIMD concurrency, model-wide Retry-After pauses, replicas drained and retried."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from fixtures_server import make_fake_server
from pipeline_helpers import openai_model, query, write_config, write_prompts

from judge.pipeline import execute, plan_run
from judge.providers.errors import ErrorInfo
from judge.providers.flow import DRAIN_AFTER, Replica, ReplicaSet

RATE_LIMITED = ErrorInfo("rate_limit", "429", 429, retry_after_s=1.0)


def test_aimd_cuts_once_per_window_ignores_echoes_and_recovers() -> None:
    r = Replica("http://a", 16)
    t = 100.0
    r.on_answer(t - 0.1, RATE_LIMITED, t)
    assert r.limit == 12  # one multiplicative cut
    for k in range(10):  # answers to requests sent before the cut: the same signal, no new cut
        r.on_answer(t - 0.05, RATE_LIMITED, t + 0.01 * k)
    assert r.limit == 12 and r.stats["cuts"] == 1
    r.on_answer(t + 0.2, RATE_LIMITED, t + 0.5)  # fresh, but within the window (Retry-After 1 s)
    assert r.limit == 12
    r.on_answer(t + 0.6, RATE_LIMITED, t + 1.2)  # fresh and a window later: cut again
    assert r.limit == 9
    for _ in range(40):  # additive increase: about +1 per limit's worth of successes
        r.on_answer(t + 2, None, t + 2)
    assert 12 <= r.limit <= 14
    for _ in range(400):
        r.on_answer(t + 3, None, t + 3)
    assert r.limit == 16  # back to the configured concurrency


def test_isolated_rate_limits_do_not_pause_the_model_a_run_of_them_does() -> None:
    r = Replica("http://a", 16)
    now = 50.0
    for _ in range(4):
        r.on_answer(now, RATE_LIMITED, now)
        r.on_answer(now, None, now)  # a success between them: isolated 429s
    assert r.paused_until == 0.0 and r.capacity(now) > 0
    for _ in range(5):
        r.on_answer(now, RATE_LIMITED, now)
    assert r.paused_until == now + 1.0 and r.capacity(now + 0.5) == 0 and r.capacity(now + 1.01) > 0


def test_failing_replica_is_drained_then_probed() -> None:
    r = Replica("http://a", 8)
    down = ErrorInfo("connection", "refused", None)
    for _ in range(DRAIN_AFTER):
        r.on_answer(0.0, down, 10.0)
    assert r.capacity(10.5) == 0  # drained
    assert r.capacity(12.5) == 1  # cool-down over: one probe at a time
    r.on_answer(12.5, None, 12.6)
    assert r.capacity(12.7) == 8  # answered: back in full service


def test_a_cancel_meeting_a_hand_over_cancels_and_frees_the_slot() -> None:
    # Python 3.11's asyncio.wait_for returns the result instead of raising when a cancel and the
    # future's result arrive in the same loop iteration: the task would go on holding the slot while
    # the stage believes it cancelled (a budget-stopped run hung on this). acquire must raise.
    async def scenario() -> tuple[bool, int, int]:
        replicas = ReplicaSet(["http://paused", "http://busy"], 1)
        paused, busy = replicas.replicas
        paused.paused_until = time.monotonic() + 30  # a pause: the waiter waits with a wake-up timer
        holder, sent_at = await replicas.acquire()
        assert holder is busy
        waiter = asyncio.ensure_future(replicas.acquire())
        await asyncio.sleep(0.01)  # the waiter is queued
        replicas.release(holder, sent_at, None)  # hands the slot to the waiter...
        waiter.cancel()  # ...in the same iteration as the stage cancels it
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        return waiter.cancelled(), busy.active, paused.active

    cancelled, busy_active, paused_active = asyncio.run(scenario())
    assert cancelled and busy_active == 0 and paused_active == 0


def _record_arrivals(server: Any) -> list[tuple[float, float, int]]:
    """(arrival, reply, status) of every chat request the server handles."""
    log: list[tuple[float, float, int]] = []
    lock = threading.Lock()
    original = server._chat

    def recording(req: Any, proto: Any) -> Any:
        arrived = time.monotonic()
        reply = original(req, proto)
        with lock:
            log.append((arrived, time.monotonic(), reply.status))
        return reply

    server._chat = recording
    return log


def test_retry_after_pauses_the_whole_model(tmp_path: Path, keys: Any) -> None:
    """A rate-limited model gets no request at all until the server's Retry-After has passed.

    At concurrency 1 a single 429 is a run of 429s: the other prompts, waiting for the slot, must
    wait out the Retry-After too, not only the request that got the 429."""
    retry_after = 0.3
    cfg_server = {"models": {"gpt-r": {"role": "target", "faults": {"rate_limit": 1.0, "retry_after_s": retry_after}}}}
    with make_fake_server(cfg_server) as srv:
        log = _record_arrivals(srv)
        write_prompts(tmp_path, 4)
        cfg = write_config(
            tmp_path,
            srv.url,
            targets=[openai_model(srv.url, "gpt-r", concurrency=1, max_attempts=2)],
            judges=[{"model": "builtin/judge"}],
        )
        execute(plan_run(cfg))
    assert len(log) == 8
    for _, replied, _ in log:
        assert not [a for a, _, _ in log if replied < a < replied + retry_after]
    assert query(tmp_path / "judge.duckdb", "select distinct status, error_kind from responses") == [
        ("error", "rate_limit")
    ]


def test_requests_spread_across_replicas_and_a_dead_one_is_drained(tmp_path: Path, keys: Any) -> None:
    models = {"models": {"gpt-x": {"role": "target"}}}
    dead = {"models": {"gpt-x": {"role": "target", "faults": {"drop": 1.0}}}}
    with make_fake_server(models) as a, make_fake_server(models) as b, make_fake_server(dead) as c:
        write_prompts(tmp_path, 60)
        spec = openai_model(a.url, "gpt-x", concurrency=2, max_attempts=4)
        spec["api_base"] = [a.url + "/v1", b.url + "/v1", c.url + "/v1"]
        cfg = write_config(tmp_path, a.url, targets=[spec], judges=[{"model": "builtin/judge"}])
        outcome = execute(plan_run(cfg))
        served = [s.model_stats("gpt-x")["requests"] for s in (a, b, c)]
    assert outcome.status == "complete"
    assert served[0] + served[1] >= 60 and min(served[0], served[1]) >= 15  # both live replicas share the work
    # the dead one: drained after a few failures, probed rarely (each request it drops is resent once
    # at once on a new connection, as for a kept-alive connection the server closed)
    assert served[2] <= 2 * (DRAIN_AFTER + 4)
