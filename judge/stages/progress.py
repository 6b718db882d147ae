"""How stages report progress; the CLI draws bars, tests and scripts stay quiet."""

from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    def start(self, stage: str, total: int, done: int) -> None: ...

    def advance(self, stage: str, *, error: bool, cost_usd: float | None) -> None: ...

    def finish(self, stage: str) -> None: ...


class NullProgress:
    def start(self, stage: str, total: int, done: int) -> None:
        pass

    def advance(self, stage: str, *, error: bool, cost_usd: float | None) -> None:
        pass

    def finish(self, stage: str) -> None:
        pass
