"""Starting the viewer: in the foreground for `judge view`, or in a background thread for tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from judge.view.app import make_app
from judge.view.context import ViewContext
from judge.view.security import Guard, check_bind

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def display_url(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


async def start(ctx: ViewContext, host: str, port: int, token: str | None) -> tuple[web.AppRunner, int]:
    """Bind and start serving; returns the runner and the port actually bound (port 0 = any free one)."""
    check_bind(host, token)
    guard = Guard(host=host, port=port, token=token)
    runner = web.AppRunner(make_app(ctx, guard), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    guard.port = bound
    return runner, int(bound)


def warm(ctx: ViewContext, newest: int = 2) -> None:
    """Build the newest runs' indexes and reports in the background, so the first clicks are fast.

    Everything here reads in the background instance (one thread, lower priority): the first requests
    keep the cores. The runs' stamps are read first, so the pages of both runs know them at once."""
    from judge.store.db import fetch
    from judge.view.data import item, runs
    from judge.view.index import Preparing, lower_priority

    lower_priority()
    try:
        with ctx.read_background() as con:
            ids = [str(r[0]) for r in fetch(con, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT ?", [newest])]
            for run_id in ids:
                ctx.indexes.stamp(con, run_id)
                with contextlib.suppress(Preparing):
                    ctx.indexes.ensure(con, run_id, 0.0)  # both builds queued now, one after the other
            for (version,) in fetch(con, "SELECT DISTINCT rubric_version FROM rubrics"):
                with contextlib.suppress(Exception):  # a bad one is shown by the page that needs it
                    item.stored_rubric_once(ctx, con, str(version))  # parsed once, for the item pages
        for run_id in ids:
            while not ctx.closed:
                try:
                    with ctx.read_background() as con:
                        runs.run_page(ctx, con, run_id, None)
                    break
                except Preparing:
                    time.sleep(0.1)
    except Exception:  # warming is an optimisation; a page will show any real problem
        return


def join_background(timeout_s: float = 20.0) -> None:
    """Wait for the background readers (warm-up, index builds, reports) to return from DuckDB after
    ViewContext.close() interrupted them: a thread still inside DuckDB while the interpreter shuts
    down aborts the process."""
    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith("judge-view"):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


class ViewServer:
    """A viewer on its own event loop in a background thread (`with ViewServer(db) as s: s.url`)."""

    def __init__(
        self,
        db: Path,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token: str | None = None,
        label: bool = False,
        warm: bool = False,
        **ctx_options: Any,
    ) -> None:
        self.ctx = ViewContext(Path(db), label=label, **ctx_options)
        self.warm = warm
        self.host, self.port, self.token = host, port, token
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="judge-view-server", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    def __enter__(self) -> ViewServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start(self.ctx, self.host, self.port, self.token), self._loop)
        self._runner, self.port = future.result(timeout=30)
        if self.warm:  # as `judge view` does
            threading.Thread(target=warm, args=(self.ctx,), name="judge-view-warm", daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.ctx.close()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=120)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        join_background()


def serve(ctx: ViewContext, *, host: str, port: int, token: str | None, open_browser: bool) -> None:
    """Serve until Ctrl-C or SIGTERM, printing the address; optionally open it in a browser."""

    async def main() -> None:
        runner, bound = await start(ctx, host, port, token)
        url = display_url(host, bound, token)
        mode = f"labelling as {ctx.annotator} into label set {ctx.label_set!r}" if ctx.label else "read-only"
        print(f"judge view: {url}  ({mode}; Ctrl-C to stop)", flush=True)
        warming = threading.Thread(target=warm, args=(ctx,), name="judge-view-warm", daemon=True)
        warming.start()
        if open_browser:
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            ctx.close()
            join_background()

    asyncio.run(main())
    print("judge view: stopped", flush=True)
