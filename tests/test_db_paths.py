"""A database path that cannot be judge's database: every command says so in one line, exit 2, nothing changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import FAKE_KEYS, ROOT, openai_model, write_config, write_prompts

from judge.store.db import ensure_database

EXPECTED = {
    "folder": "is a folder",
    "not_duckdb": "is not a DuckDB database file",
    "newer_schema": "newer than this judge",
}


def _make(db: Path, case: str) -> None:
    if case == "folder":
        db.mkdir()
        (db / "inside.txt").write_text("keep me")
    elif case == "not_duckdb":
        db.write_text("prompt_id,verdict\np1,refusal\n")
    else:
        ensure_database(db)
        con = duckdb.connect(str(db))
        con.execute("insert into schema_migrations values (999, 'from a newer judge', now()::timestamp)")
        con.close()


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_run_sql_and_runs_refuse_a_bad_database_path(tmp_path: Path, case: str) -> None:
    url = "http://127.0.0.1:9"  # never contacted: the database is refused first
    write_prompts(tmp_path, 3)
    cfg = write_config(tmp_path, url, targets=[openai_model(url, "gpt-c")], judges=[openai_model(url, "judge-c")])
    db = tmp_path / "judge.duckdb"
    _make(db, case)
    before = _snapshot(tmp_path)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **FAKE_KEYS}
    commands = {
        "run": ["run", str(cfg), "-q", "--db", str(db)],
        "sql": ["sql", "--db", str(db), "select 1"],
        "runs": ["runs", "--db", str(db)],
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "judge", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for name, args in commands.items()
    }
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        lines = err.strip().splitlines()
        assert proc.returncode == 2, (name, err)
        assert len(lines) == 1 and EXPECTED[case] in lines[0] and str(db) in lines[0], (name, err)
    assert _snapshot(tmp_path) == before


def test_a_database_in_a_folder_that_cannot_be_written_is_one_line() -> None:
    from judge.errors import UserInputError
    from judge.store.writer import StoreWriter

    folder = Path("/proc/sys")  # read-only even for root (tests run as root, so chmod would not do)
    if not folder.is_dir() or os.access(folder, os.W_OK):
        pytest.skip("no read-only folder to test with")
    with pytest.raises(UserInputError, match="is not writable"):
        StoreWriter(folder / "judge.duckdb").open()
