#!/usr/bin/env python3
"""Calls/s and client CPU per call of judge's stages against a loopback model server, beside a bare client.

    .venv/bin/python scripts/bench_pipeline.py                       # 200 ms server, concurrency 64 and 256
    .venv/bin/python scripts/bench_pipeline.py --latency-ms 200 --concurrency 64 --calls 1000 --profile

For each concurrency C it runs, in this order and in the same process:
  bare      the judge stage's exact request bodies POSTed by a bare aiohttp client (the reference);
  generate  judge's generate stage, storage included (N prompts x 1 OpenAI-protocol target);
  judge     judge's judge stage, storage included (the N answers x 1 LLM judge, tool-call verdicts).
and prints calls/s, efficiency against the physical limit (C / latency: what a client that costs
nothing would reach), the ratio to the bare client, and this process's CPU ms per call (all its
threads). The server is the fake model server's protocol logic behind an asyncio front end, run in
another process pinned to another core when the machine has more than one (os.sched_setaffinity),
so it is not the bottleneck; `--server threaded` uses scripts/fake_model_server.py as is.
`--profile` writes a cProfile of the judge stage (/tmp/bench_pipeline_judge.prof) and prints what costs most.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pipeline_helpers import openai_model, write_config, write_prompts  # noqa: E402

from judge.stages.progress import NullProgress  # noqa: E402

SERVER_MODELS = {"models": {"gpt-b": {"role": "target", "responder": "by_intent"}, "judge-b": {"role": "judge"}}}
KEY = "sk-bench-0000"


# ---- the server --------------------------------------------------------------------------------


AIO_SERVER = r"""
import asyncio, json, sys
from aiohttp import web
sys.path.insert(0, sys.argv[1])
import fake_server as fms
latency = float(sys.argv[2]) / 1000
app_logic = fms.FakeModelServer(json.loads(sys.argv[3]))  # protocol logic only, latency 0

async def chat(request):
    body = await request.read()
    req = fms.Request("POST", request.path, {}, {k.lower(): v for k, v in request.headers.items()},
                      body, {}, lambda s: False)
    await asyncio.sleep(latency)
    proto = fms.AnthropicProtocol() if request.path.endswith("/messages") else fms.OpenAIProtocol()
    reply = app_logic._chat(req, proto)
    return web.Response(status=reply.status, body=reply.encoded(), headers=reply.headers,
                        content_type="application/json")

async def stats(request):
    return web.json_response(app_logic.stats())

app = web.Application()
app.router.add_post("/v1/chat/completions", chat)
app.router.add_post("/v1/messages", chat)
app.router.add_get("/_stats", stats)

async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()

try:
    import uvloop; uvloop.install()
except ImportError:
    pass
asyncio.run(main())
"""


def cores() -> tuple[set[int], set[int]]:
    """(server cores, client cores): the last core for the server when there are two or more."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return set(), set()
    if len(available) < 2:
        return set(), set()
    return {available[-1]}, set(available[:-1])


def start_server(kind: str, latency_ms: float, folder: Path) -> tuple[subprocess.Popen[str], str]:
    """Start the loopback model server in its own process (pinned to its own core when possible)."""
    if kind == "aio":
        cmd = [sys.executable, "-c", AIO_SERVER, str(ROOT / "tests"), str(latency_ms), json.dumps(SERVER_MODELS)]
    else:
        (folder / "server.json").write_text(json.dumps({**SERVER_MODELS, "latency_ms": latency_ms}))
        script = str(ROOT / "scripts" / "fake_model_server.py")
        cmd = [sys.executable, script, "--port", "0", "--config", str(folder / "server.json")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = next(w for w in proc.stdout.readline().split() if w.startswith("http://")).rstrip("/")
    server_cores, client_cores = cores()
    if server_cores:
        os.sched_setaffinity(proc.pid, server_cores)
        os.sched_setaffinity(0, client_cores)
    return proc, url


# ---- the reference: a bare aiohttp client ------------------------------------------------------


def judge_bodies(plan: Any, n: int) -> list[bytes]:
    """The judge stage's request bodies for n answers (the same bytes the lean judge sends)."""
    from judge.judging.render import render_judge_messages
    from judge.providers.structured import verdict_request

    judge = plan.judges[0]
    vr = verdict_request(judge.spec.judge_mode)
    prompts = list(plan.prompts.rows())
    out = []
    for i in range(n):
        p = prompts[i % len(prompts)]
        answer = f"Step 1: placeholder answer {i}." if i % 2 else "I'm sorry, but I can't help with that."
        messages = vr.messages(render_judge_messages(plan.rubric, p, answer))
        out.append(judge.wire.request_bytes(messages, vr.extra))
    return out


async def bare_client(url: str, bodies: list[bytes], concurrency: int) -> int:
    import aiohttp

    headers = {"content-type": "application/json", "authorization": f"Bearer {KEY}"}
    ok = 0
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(body: bytes) -> None:
            nonlocal ok
            async with sem, session.post(url + "/v1/chat/completions", data=body, headers=headers) as resp:
                data = await resp.read()
                ok += resp.status == 200 and bool(json.loads(data)["choices"])

        await asyncio.gather(*(one(b) for b in bodies))
    return ok


# ---- judge's stages ----------------------------------------------------------------------------


class Timing(NullProgress):
    """Wall and process CPU time per stage (CPU of every thread of this process)."""

    def __init__(self, profile_stage: str | None = None) -> None:
        self.marks: dict[str, tuple[float, float, int]] = {}
        self.done: dict[str, int] = {}
        self.profile_stage = profile_stage
        self.profiler: cProfile.Profile | None = None

    def start(self, stage: str, total: int, done: int) -> None:
        self.done[stage] = 0
        if stage == self.profile_stage:
            self.profiler = cProfile.Profile()
            self.profiler.enable()
        self.marks[stage] = (time.perf_counter(), time.process_time(), 0)

    def advance(self, stage: str, *, error: bool, cost_usd: float | None) -> None:
        self.done[stage] += 1

    def finish(self, stage: str) -> None:
        wall0, cpu0, _ = self.marks[stage]
        self.marks[stage] = (time.perf_counter() - wall0, time.process_time() - cpu0, self.done[stage])
        if stage == self.profile_stage and self.profiler is not None:
            self.profiler.disable()
            self.profiler.dump_stats(f"/tmp/bench_pipeline_{stage}.prof")


def row(name: str, calls: int, wall: float, cpu: float, limit: float, bare_rate: float | None) -> dict[str, Any]:
    rate = calls / wall if wall else 0.0
    return {
        "stage": name,
        "calls": calls,
        "wall_s": round(wall, 3),
        "calls_per_s": round(rate, 1),
        "of_limit": round(rate / limit, 3),
        "vs_bare": round(rate / bare_rate, 3) if bare_rate else 1.0,
        "cpu_ms_per_call": round(cpu * 1000 / max(calls, 1), 3),
    }


def run_once(url: str, folder: Path, calls: int, concurrency: int, latency_ms: float, profile: bool) -> list[dict]:
    from judge.pipeline import execute, plan_run

    write_prompts(folder, calls)
    opts = {"concurrency": concurrency, "timeout_s": 60}
    cfg = write_config(
        folder,
        url,
        targets=[openai_model(url, "gpt-b", **opts)],
        judges=[openai_model(url, "judge-b", **opts)],
    )
    plan = plan_run(cfg)
    bodies = judge_bodies(plan, calls)
    limit = concurrency / (latency_ms / 1000)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    ok = asyncio.run(bare_client(url, bodies, concurrency))
    bare_wall, bare_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert ok == calls, f"bare client: {ok} of {calls} answered"
    bare_rate = calls / bare_wall

    timing = Timing("judge" if profile else None)
    outcome = execute(plan, progress=timing)
    assert outcome.status == "complete", outcome.reason
    rows = [row("bare", calls, bare_wall, bare_cpu, limit, None)]
    for stage in ("generate", "judge"):
        wall, cpu, n = timing.marks[stage]
        rows.append(row(stage, n, wall, cpu, limit, bare_rate))
    if timing.profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(timing.profiler, stream=out).sort_stats("tottime")
        stats.print_stats(25)
        path = folder.parent / f"judge_stage_c{concurrency}.prof"
        stats.dump_stats(str(path))
        print(out.getvalue())
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=1000, help="calls per stage (at least 6 x concurrency)")
    ap.add_argument("--latency-ms", type=float, default=200.0, help="the server's latency per request")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--server", choices=["aio", "threaded"], default="aio")
    ap.add_argument("--profile", action="store_true", help="cProfile the judge stage (prints the top 25)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["FAKE_OPENAI_KEY"] = KEY
    results: list[dict[str, Any]] = []
    server_cores, _ = cores()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(args.server, args.latency_ms, Path(tmp))
        try:
            for c in args.concurrency:
                folder = Path(tmp) / f"c{c}"
                folder.mkdir()
                calls = max(args.calls, 6 * c)
                for r in run_once(url, folder, calls, c, args.latency_ms, args.profile):
                    results.append({"concurrency": c, "latency_ms": args.latency_ms, **r})
        finally:
            server.terminate()
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"load_average": load, "results": results}, indent=2))
        return 0
    print(
        f"server latency {args.latency_ms:g} ms, server pinned to core {sorted(server_cores) or 'n/a'}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    head = ("C", "stage", "calls", "wall s", "calls/s", "of limit", "vs bare", "CPU ms/call")
    print("{:>4} {:9} {:>6} {:>7} {:>8} {:>8} {:>8} {:>11}".format(*head))
    for r in results:
        print(
            f"{r['concurrency']:4d} {r['stage']:9} {r['calls']:6d} {r['wall_s']:7.2f} {r['calls_per_s']:8.1f} "
            f"{r['of_limit']:8.2f} {r['vs_bare']:8.2f} {r['cpu_ms_per_call']:11.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
