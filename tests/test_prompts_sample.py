"""Stratified sampling, reproducibility and exclusion (issue 7)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from judge.cli.prompts_cmd import app
from judge.errors import UserInputError
from judge.prompts.loader import load_prompt_file
from judge.prompts.model import PromptRow
from judge.prompts.sample import allocate, sample_prompts, stratum_of
from judge.store.migrations import migrate

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "prompts" / "sample.jsonl"
runner = CliRunner()


@pytest.fixture(scope="module")
def rows() -> list[PromptRow]:
    return load_prompt_file(SAMPLE)


def test_largest_remainder_allocation() -> None:
    alloc = allocate({("a",): 5, ("b",): 3, ("c",): 2}, 5)
    assert alloc == {("a",): 3, ("b",): 1, ("c",): 1} or alloc == {("a",): 2, ("b",): 2, ("c",): 1}
    assert sum(alloc.values()) == 5
    assert allocate({("a",): 2}, 10) == {("a",): 2}


@pytest.mark.parametrize("keys", [["l1", "intent"], ["intent"], ["l1"], ["technique", "lang"]])
def test_proportions_per_stratum(rows: list[PromptRow], keys: list[str]) -> None:
    n = 60
    picked = sample_prompts(rows, n, keys, seed=3)
    assert len(picked) == n
    sizes = Counter(stratum_of(r, keys) for r in rows)
    got = Counter(stratum_of(r, keys) for r in picked)
    for key, size in sizes.items():
        quota = n * size / len(rows)
        assert int(quota) <= got[key] <= int(quota) + 1, (key, quota, got[key])


def test_same_seed_same_sample_different_seed_different(rows: list[PromptRow]) -> None:
    a = [r.id for r in sample_prompts(rows, 40, ["l1", "intent"], seed=11)]
    b = [r.id for r in sample_prompts(rows, 40, ["l1", "intent"], seed=11)]
    c = [r.id for r in sample_prompts(rows, 40, ["l1", "intent"], seed=12)]
    assert a == b
    assert a != c


def test_exclude_never_repeats_until_exhausted(rows: list[PromptRow]) -> None:
    seen: list[str] = []
    while True:
        batch = sample_prompts(rows, 37, ["l1", "intent"], seed=5, exclude_ids=set(seen))
        if not batch:
            break
        seen.extend(r.id for r in batch)
    assert len(seen) == len(rows)
    assert sorted(seen) == sorted(r.id for r in rows)


def test_unknown_stratum_key_is_user_error(rows: list[PromptRow]) -> None:
    with pytest.raises(UserInputError, match="stratification key"):
        sample_prompts(rows, 5, ["hazard"], seed=1)


def _make_db(path: Path, rows: list[PromptRow]) -> None:
    con = duckdb.connect(str(path))
    migrate(con)  # a real judge database: readers refuse files without the judge schema
    con.execute(
        "INSERT INTO runs (run_id, name, fingerprint, started_at, status) VALUES "
        "('r-old', 'old', 'f1', '2025-01-01 10:00', 'complete'), ('r-new', 'new', 'f2', '2025-02-01 10:00', 'complete')"
    )
    for r in rows[:10]:
        con.execute("INSERT INTO run_prompts VALUES ('r-old', ?, ?)", [r.content_hash, r.id])
    for r in rows[10:30]:
        con.execute("INSERT INTO run_prompts VALUES ('r-new', ?, ?)", [r.content_hash, r.id])
    con.close()


def _sample_cli(tmp_path: Path, *extra: str) -> set[str]:
    out = tmp_path / "out.jsonl"
    args = ["sample", str(SAMPLE), "--n", "1000", "--stratify", "l1,intent", "--seed", "1", "-o", str(out)]
    result = runner.invoke(app, [*args, *extra])
    if isinstance(result.exception, UserInputError):
        raise result.exception
    assert result.exit_code == 0, result.output
    return {json.loads(line)["id"] for line in out.read_text().splitlines()}


def test_exclude_run_latest_and_by_id(tmp_path: Path, rows: list[PromptRow]) -> None:
    db = tmp_path / "judge.duckdb"
    _make_db(db, rows)
    latest = _sample_cli(tmp_path, "--exclude-run", "latest", "--db", str(db))
    assert latest == {r.id for r in rows[:10]} | {r.id for r in rows[30:]}
    old = _sample_cli(tmp_path, "--exclude-run", "r-old", "--db", str(db))
    assert old == {r.id for r in rows[10:]}
    both = _sample_cli(tmp_path, "--exclude-run", "latest", "--exclude-run", "r-old", "--db", str(db))
    assert both == {r.id for r in rows[30:]}
    assert _sample_cli(tmp_path, "--exclude-run", "all", "--db", str(db)) == both
    with pytest.raises(UserInputError, match="no run 'nope'"):
        _sample_cli(tmp_path, "--exclude-run", "nope", "--db", str(db))


def test_exclude_run_without_database_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_DB", str(tmp_path / "missing.duckdb"))
    with pytest.raises(UserInputError, match="database not found"):
        _sample_cli(tmp_path, "--exclude-run", "latest")


def test_sample_cli_writes_valid_rows(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    args = ["sample", str(SAMPLE), "--n", "24", "--stratify", "l1", "--seed", "9", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    picked = load_prompt_file(out)
    assert len(picked) == 24
    assert len({r.level(1) for r in picked}) == 12
