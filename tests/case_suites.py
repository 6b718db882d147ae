"""Reading the built-in judge's case suites (tests/data/judge_*): every case of a folder, in file then line order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_cases(folder: Path) -> list[dict[str, Any]]:
    """The JSON objects of every `*.jsonl` file in `folder` (blank lines skipped)."""
    cases: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            cases.extend(json.loads(line) for line in fh if line.strip())
    return cases
