"""`judge sql` is a sandbox: it reads the database and nothing else, and writes nothing anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import judge_cli

from judge.errors import UserInputError
from judge.store.user_sql import run_user_query as run_query
from judge.store.writer import StoreWriter


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "judge.duckdb"
    with StoreWriter(path) as w:
        w.add("rubrics", {"rubric_version": "v1", "name": "r", "path": "r.yaml", "content": "x"})
    (tmp_path / "secret.csv").write_text("name,value\nkey,hunter2\n")
    return path


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


ATTACKS = {
    "copy_to_journal": "COPY (SELECT 'responses' AS t) TO '{db}.journal' (FORMAT json)",
    "copy_to_file": "COPY rubrics TO '{dir}/out.csv'",
    "export_database": "EXPORT DATABASE '{dir}/export'",
    "read_csv": "SELECT * FROM read_csv('{dir}/secret.csv')",
    "read_csv_etc_passwd": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/hostname')",
    "glob": "SELECT * FROM glob('{dir}/*')",
    "attach": "ATTACH '{dir}/other.duckdb' AS other",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "load_file": "LOAD '{dir}/evil.duckdb_extension'",
    "set_external_access": "SET enable_external_access = true",
    "set_other": "SET threads = 1",
    "pragma": "PRAGMA enable_profiling",
    "write_table": "CREATE TABLE evil AS SELECT 1",
    "update": "UPDATE rubrics SET content = 'forged'",
    "second_statement": "SELECT 1; COPY rubrics TO '{dir}/out2.csv'",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_file_access_settings_and_writes_are_refused(db: Path, name: str) -> None:
    folder = db.parent
    before = _files(folder)
    query = ATTACKS[name].format(db=db, dir=folder)
    with pytest.raises(UserInputError) as err:
        run_query(db, query)
    assert "\n" not in err.value.one_line()
    assert _files(folder) == before
    assert run_query(db, "SELECT content FROM rubrics")[1] == [("x",)]


def test_reading_the_database_still_works(db: Path) -> None:
    cols, rows = run_query(db, "SELECT rubric_version, name FROM rubrics")
    assert cols == ["rubric_version", "name"] and rows == [("v1", "r")]


@pytest.mark.parametrize("query", ["", "   ", "-- only a comment", "/* a block */ ;"])
def test_an_empty_query_is_one_line(db: Path, query: str) -> None:
    with pytest.raises(UserInputError, match="the query is empty"):
        run_query(db, query)


def test_the_cli_refuses_the_journal_attack_with_exit_2_and_one_line(db: Path) -> None:
    before = _files(db.parent)
    proc = judge_cli(["sql", "--db", str(db), ATTACKS["copy_to_journal"].format(db=db)])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused" in lines[0] and "Traceback" not in proc.stderr
    assert _files(db.parent) == before
    query_file = db.parent / "q.sql"
    query_file.write_text("-- nothing here\n")
    proc = judge_cli(["sql", "--db", str(db), "--file", str(query_file)])
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "the query is empty" in lines[0]
