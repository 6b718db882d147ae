"""The parallel validating pass gives exactly what the serial one gives: counts, hashes, ids, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import judge.prompts.parallel_scan as parallel
from judge.errors import UserInputError
from judge.prompts.loader import PromptScan, scan_prompt_sets


def _rows(n: int, prefix: str = "p") -> list[dict[str, Any]]:
    intents = ("safe", "unsafe", "adversarial")
    return [
        {
            "id": f"{prefix}{i}",
            "prompt": f"Question {i} ✓ " + "x" * (i % 50),
            "taxonomy": ["hate", f"t{i % 7}"] if i % 2 else ["fraud"],
            "intent": intents[i % 3],
            **({"technique": "role_play"} if i % 3 == 2 else {}),
        }
        for i in range(n)
    ]


def _write(path: Path, rows: list[Any], blank_every: int = 0) -> Path:
    lines = []
    for i, row in enumerate(rows):
        lines.append(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
        if blank_every and i % blank_every == 0:
            lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _serial(paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> PromptScan | str:
    with monkeypatch.context() as m:
        m.setattr(parallel, "scan_parallel", lambda files, **kw: None)
        try:
            return scan_prompt_sets(paths)
        except UserInputError as e:
            return e.one_line()


def _parallel(paths: list[Path]) -> PromptScan | str:
    try:
        scan = parallel.scan_parallel(paths, min_bytes=0, workers=4, any_thread=True)
    except UserInputError as e:
        return e.one_line()
    assert scan is not None
    return scan


def _same(a: PromptScan | str, b: PromptScan | str) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert (a.count, a.content_hashes, a.taxonomy_ids) == (b.count, b.content_hashes, b.taxonomy_ids)
    assert a.stamps == b.stamps


def test_parts_cut_at_line_starts_and_count_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", _rows(1000), blank_every=7)
    lines = path.read_bytes().split(b"\n")
    for start, _end, first_line in parallel.line_aligned_parts(path, 4):
        data = path.read_bytes()
        assert start == 0 or data[start - 1 : start] == b"\n"
        assert data[start:].split(b"\n", 1)[0] == lines[first_line - 1]


def test_good_files_scan_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _write(tmp_path / "a.jsonl", _rows(3000), blank_every=11)
    b = _write(tmp_path / "b.jsonl", _rows(1500, prefix="q"))
    _same(_parallel([a, b]), _serial([a, b], monkeypatch))


@pytest.mark.parametrize(
    "where",
    ["bad_json_late", "bad_field_middle", "duplicate_across_parts", "duplicate_across_files", "empty_first_file"],
)
def test_bad_input_gives_the_serial_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    rows: list[Any] = _rows(3000)
    other: list[Any] = _rows(200, prefix="q")
    if where == "bad_json_late":
        rows[2900] = '{"id": "broken", '
        rows[2950] = {"id": "p5", "prompt": "dup after the bad line", "taxonomy": ["x"], "intent": "safe"}
    elif where == "bad_field_middle":
        rows[1700] = {"id": "z", "prompt": "x", "taxonomy": [], "intent": "safe"}
    elif where == "duplicate_across_parts":
        rows[2800] = {**rows[2800], "id": "p3"}
    elif where == "duplicate_across_files":
        other[150] = {**other[150], "id": "p10"}
    a = _write(tmp_path / "a.jsonl", rows)
    b = _write(tmp_path / "b.jsonl", other)
    paths = [a, b]
    if where == "empty_first_file":
        empty = tmp_path / "empty.jsonl"
        empty.write_text("\n\n", encoding="utf-8")
        paths = [empty, a]
    serial = _serial(paths, monkeypatch)
    assert isinstance(serial, str), "the case must be bad input"
    _same(_parallel(paths), serial)


def test_small_sets_and_missing_files_take_the_serial_path(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", _rows(10))
    assert parallel.scan_parallel([a]) is None  # under the size threshold
    assert parallel.scan_parallel([tmp_path / "missing.jsonl"], min_bytes=0, workers=2, any_thread=True) is None


def test_judge_run_validates_in_parallel_and_refuses_a_bad_last_line(tmp_path: Path, fake_server: Any) -> None:
    # the real command, with the parallel pass forced on a small file: same outcome as the serial pass
    from pipeline_helpers import FAKE_KEYS, judge_cli, openai_model, query, write_config

    fake_server.set_config({"latency_ms": 1, "models": {"gpt-p": {"role": "target"}}})
    url = str(fake_server.url)
    rows: list[Any] = _rows(2000)
    rows[-1] = {"id": "last", "prompt": "x", "taxonomy": ["hate"], "intent": "maybe"}
    prompts = _write(tmp_path / "prompts.jsonl", rows)
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-p", concurrency=16)],
        judges=[{"model": "builtin/judge"}],
        extra="budget: {max_calls: 3}\n",
    )
    env = {**FAKE_KEYS, "JUDGE_PARALLEL_SCAN_MIN_BYTES": "0"}
    bad = judge_cli(["run", str(cfg), "-q"], env=env)
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith(f"error: {prompts}:2000: field 'intent'"), bad.stderr
    assert not (tmp_path / "judge.duckdb").exists()  # nothing written
    assert fake_server.stats()["total_requests"] == 0
    _write(prompts, rows[:-1])
    good = judge_cli(["run", str(cfg), "-q"], env=env)
    assert good.returncode == 5, good.stderr  # the budget stops it after three calls
    assert query(tmp_path / "judge.duckdb", "select count(*) from run_prompts") == [(1999,)]


def test_a_plain_process_takes_the_parallel_path(tmp_path: Path) -> None:
    # `judge run` validates in a process that runs no other thread yet: the parallel path is not refused
    import subprocess
    import sys

    path = _write(tmp_path / "a.jsonl", _rows(500))
    code = (
        "import sys; from pathlib import Path; from judge.prompts.parallel_scan import scan_parallel; "
        "scan = scan_parallel([Path(sys.argv[1])], min_bytes=0, workers=2); print(scan is not None and scan.count)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "500", out.stderr
