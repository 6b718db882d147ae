"""Deterministic crash points for testing crash safety (inactive unless JUDGE_CRASH_AT is set).

JUDGE_CRASH_AT="point:n" makes the process kill itself with SIGKILL the n-th time it reaches
`point` (after_journal: a finished row reached the journal, the run header is not counted;
before_commit / after_commit: in the writer thread, around a segment's commit). Random-time
kill -9 tests complement these.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("JUDGE_CRASH_AT", "")
_POINT, _, _N = _SPEC.partition(":")
_LIMIT = int(_N) if _N.isdigit() else 0
_seen = 0


def reached(point: str) -> None:
    global _seen
    if not _LIMIT or point != _POINT:
        return
    _seen += 1
    if _seen >= _LIMIT:
        os.kill(os.getpid(), signal.SIGKILL)
