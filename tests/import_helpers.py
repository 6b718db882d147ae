"""Helpers for the import tests: where the shared sample files are, small file writers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """$JUDGE_SHARED_DIR, else the first `shared/` folder found walking up from the repo root."""
    env = os.environ.get("JUDGE_SHARED_DIR")
    if env:
        return Path(env)
    for parent in (ROOT, *ROOT.parents):
        if (parent / "shared" / "samples").is_dir():
            return parent / "shared"
    return None


def samples() -> Path:
    found = shared_dir()
    if found is None:
        pytest.skip("shared/samples not found beside the repo (set JUDGE_SHARED_DIR)")
    return found / "samples"


def inspect_log(task: str, fmt: str) -> Path:
    [path] = sorted((samples() / "inspect").glob(f"*_{task.replace('_', '-')}_*.{fmt}"))
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path
