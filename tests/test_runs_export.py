"""`judge runs` lists runs; `judge export RUN --parquet DIR` writes the run's flat tables."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from test_report import make_demo_db
from typer.testing import CliRunner

from judge.cli import app
from judge.store.db import read_connection


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return make_demo_db(tmp_path_factory.mktemp("export"))


def test_runs_json_and_table(demo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    db, run_id = demo
    runner = CliRunner()
    res = runner.invoke(app, ["runs", "--db", str(db), "--format", "json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert row["run_id"] == run_id and row["name"] == "demo" and row["status"] == "incomplete"
    assert row["targets"] == ["model-a", "model-b"] and row["judges"] == ["builtin/rules", "rules-b"]
    with read_connection(db) as con:
        n_prompts = con.execute("SELECT count(*) FROM run_prompts WHERE run_id = ?", [run_id]).fetchall()[0][0]
    assert row["n_prompts"] == n_prompts > 50
    assert row["cost_usd"] == 0.0
    assert row["offline_providers"] == ["builtin/rules", "replay/model-a", "replay/model-b"]
    monkeypatch.setenv("COLUMNS", "250")
    res = runner.invoke(app, ["runs", "--db", str(db)])
    assert res.exit_code == 0 and run_id in res.stdout and "replay/model-a" in res.stdout
    assert "offline providers" in res.stdout.splitlines()[1]  # a table header
    monkeypatch.setenv("COLUMNS", "80")  # narrow terminals get one block per run
    res = runner.invoke(app, ["runs", "--db", str(db)])
    assert res.exit_code == 0 and res.stdout.startswith(run_id) and "judges: builtin/rules, rules-b" in res.stdout


def test_runs_on_missing_db_is_a_user_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["runs", "--db", str(tmp_path / "none.duckdb")])
    assert res.exit_code != 0 and "database not found" in str(res.exception)


def test_export_parquet(demo: tuple[Path, str], tmp_path: Path) -> None:
    db, run_id = demo
    out = tmp_path / "it's here"  # a quote in the path must not break the COPY statement
    res = CliRunner().invoke(app, ["export", "latest", "--db", str(db), "--parquet", str(out)])
    assert res.exit_code == 0, res.output
    expected = {
        "prompts": "SELECT count(*) FROM run_prompts WHERE run_id = ?",
        "responses": "SELECT count(*) FROM responses WHERE run_id = ?",
        "verdicts": "SELECT count(*) FROM verdicts WHERE run_id = ?",
        "scored": "SELECT count(*) FROM scored WHERE run_id = ?",
        "model_calls": "SELECT count(*) FROM model_calls WHERE run_id = ?",
    }
    con = duckdb.connect()
    with read_connection(db) as store:
        for name, sql in expected.items():
            want = store.execute(sql, [run_id]).fetchall()[0][0]
            path = out / f"{name}.parquet"
            assert path.is_file()
            got = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0]
            assert got == want > 0, name
            assert f"{name}.parquet\t{want} rows" in res.stdout
    cur = con.execute("SELECT * FROM read_parquet(?) LIMIT 1", [str(out / "scored.parquet")])
    cols = [d[0] for d in cur.description or []]
    cur.fetchall()
    assert {"target", "judge", "tier", "outcome", "is_violation"} <= set(cols)
    runs = con.execute("SELECT DISTINCT run_id FROM read_parquet(?)", [str(out / "verdicts.parquet")]).fetchall()
    assert runs == [(run_id,)]


def test_export_needs_a_destination(demo: tuple[Path, str]) -> None:
    db, _ = demo
    res = CliRunner().invoke(app, ["export", "latest", "--db", str(db)])
    assert res.exit_code != 0 and "--parquet" in str(res.exception)
