"""docs/importing.md: every command, mapping file and SQL query of the worked examples runs as written,
from a folder laid out like a fresh clone with `../shared` beside it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from import_helpers import ROOT, shared_dir
from pipeline_helpers import judge_cli

DOC = ROOT / "docs" / "importing.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    examples = text[text.index("## Worked examples") : text.index("## Grading:")]
    return [(m.group(1), m.group(2).strip(), m.group(3)) for m in BLOCK.finditer(examples)]


def test_worked_examples_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = shared_dir()
    if shared is None:
        pytest.skip("shared/ not found beside the repo")
    clone = tmp_path / "clone"
    clone.mkdir()
    (tmp_path / "shared").symlink_to(shared.resolve(), target_is_directory=True)
    monkeypatch.delenv("JUDGE_DB", raising=False)
    ran = {"sh": 0, "sql": 0, "yaml": 0}
    for lang, info, body in _blocks():
        if lang == "yaml" and info.startswith("file="):
            (clone / info.removeprefix("file=")).write_text(body, encoding="utf-8")
        elif lang == "sh":
            for line in body.splitlines():
                if not line.startswith("judge "):
                    continue
                res = judge_cli(shlex.split(line)[1:], cwd=clone, env={"JUDGE_DB": ""})
                assert res.returncode == 0, f"{line}\n{res.stderr}"
                assert "Traceback" not in res.stderr
        elif lang == "sql":
            res = judge_cli(["sql", body, "--format", "json"], cwd=clone, env={"JUDGE_DB": ""})
            assert res.returncode == 0, f"{body}\n{res.stderr}"
            assert res.stdout.strip() not in ("", "[]"), body  # each query shows something on the samples
        else:
            continue
        ran[lang] += 1
    assert ran == {"sh": 3, "sql": 4, "yaml": 1}
    assert (clone / "runs" / "judge.duckdb").exists()
