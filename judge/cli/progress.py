"""Progress of the stages on stderr: live bars on a terminal, a few plain lines in a log or pipe."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from judge.cli.output import console, is_terminal
from judge.stages.progress import NullProgress, ProgressSink

LOG_EVERY_S = 60.0  # a log gets one line per stage per minute at most, plus the start and end lines


class RichProgress:
    """Live bars (one per stage): done/total, rate, time left, errors and cost."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.errors: dict[str, int] = {}
        self.cost: dict[str, float] = {}

    def start(self, stage: str, total: int, done: int) -> None:
        self.errors[stage], self.cost[stage] = 0, 0.0
        self.tasks[stage] = self.progress.add_task(stage, total=total, completed=done, errors=0, cost=0.0)

    def advance(self, stage: str, *, error: bool, cost_usd: float | None) -> None:
        self.errors[stage] += int(error)
        self.cost[stage] += cost_usd or 0.0
        self.progress.update(self.tasks[stage], advance=1, errors=self.errors[stage], cost=self.cost[stage])

    def finish(self, stage: str) -> None:
        self.progress.refresh()


class LogProgress:
    """Plain lines for logs and pipes: a start line, at most one line a minute, an end line per stage."""

    def __init__(self, stream: TextIO, every_s: float = LOG_EVERY_S) -> None:
        self.stream, self.every_s = stream, every_s
        self.state: dict[str, dict[str, Any]] = {}

    def start(self, stage: str, total: int, done: int) -> None:
        now = time.monotonic()
        self.state[stage] = {"total": total, "done": done, "errors": 0, "cost": 0.0, "t0": now, "last": now}
        self._line(stage, "started" if done == 0 else f"resumed ({done} already done)")

    def advance(self, stage: str, *, error: bool, cost_usd: float | None) -> None:
        s = self.state[stage]
        s["done"] += 1
        s["errors"] += int(error)
        s["cost"] += cost_usd or 0.0
        now = time.monotonic()
        if now - s["last"] >= self.every_s:
            s["last"] = now
            self._line(stage, "")

    def finish(self, stage: str) -> None:
        s = self.state[stage]
        self._line(stage, f"finished in {time.monotonic() - s['t0']:.1f} s")

    def _line(self, stage: str, what: str) -> None:
        s = self.state[stage]
        text = f"{stage}: {s['done']}/{s['total']}, errors {s['errors']}, cost ${s['cost']:.4f}"
        print(f"{text}{' — ' + what if what else ''}", file=self.stream, flush=True)


@contextmanager
def stage_progress(*, quiet: bool = False, stream: TextIO | None = None) -> Iterator[ProgressSink]:
    """The progress sink for a command: bars when `stream` (stderr) is a terminal, lines otherwise."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        yield NullProgress()
        return
    if not is_terminal(stream):
        yield LogProgress(stream)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bars = Progress(
        TextColumn("{task.description:<8}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        _rate_column(),
        TimeRemainingColumn(),
        TextColumn("errors {task.fields[errors]}  cost ${task.fields[cost]:.4f}", markup=False),
        console=console(stderr=True),
        transient=False,
    )
    with bars:
        yield RichProgress(bars)


def _rate_column() -> Any:
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.1f}/s" if speed else "  …/s", style="progress.data.speed")

    return RateColumn()
