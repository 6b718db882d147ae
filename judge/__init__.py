"""judge: an LLM-as-judge grading pipeline for AI safety evaluations.

Data flow, visible in the package layout:
prompts/ (load prompt sets) → stages/generate.py (targets answer) → stages/grade.py (judges classify)
→ store/ (DuckDB) → analysis/ (metrics, reports). providers/ is the one boundary to models.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

__version__ = "0.1.0"


def connect(path: str | PathLike[str] | None = None, *, timeout_s: float = 30.0) -> DuckDBPyConnection:
    """A read-only DuckDB connection to a judge database that waits out a run's short write windows.

    `judge.connect("runs/judge.duckdb")` — see judge/store/readers.py and docs/reliability.md.
    """
    from judge.store.readers import connect as _connect

    return _connect(path, timeout_s=timeout_s)
