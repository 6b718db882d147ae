"""Each of the ten documented example queries runs against a demo database and returns sensible rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_report import MISSING_FOR_B, make_demo_db
from typer.testing import CliRunner

from judge.analysis.example_queries import load_example_queries
from judge.cli import app
from judge.store.db import read_connection

ROOT = Path(__file__).resolve().parents[1]
QUERIES = {q.name: q for q in load_example_queries()}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    db, _ = make_demo_db(tmp_path_factory.mktemp("queries"))
    out = {}
    with read_connection(db) as con:
        for name, q in QUERIES.items():
            cur = con.execute(q.sql)
            cols = [d[0] for d in cur.description or []]
            out[name] = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    out["__db__"] = [{"path": str(db)}]
    return out


def _pct_ok(row: dict[str, Any], key: str) -> bool:
    return row[key] is None or 0.0 <= row[key] <= 100.0


def test_there_are_ten() -> None:
    assert len(QUERIES) == 10


def test_violation_rate_by_hazard(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["violation_rate_by_hazard"]
    assert len(rows) == 12 * 2  # 12 hazards × 2 judges
    for r in rows:
        assert _pct_ok(r, "violation_pct") and r["violations"] <= r["n_scored"]
        if r["violation_pct"] is not None:
            assert r["ci_low_pct"] <= r["violation_pct"] <= r["ci_high_pct"]
    assert any(r["violations"] > 0 for r in rows)


def test_judges_disagree(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["judges_disagree"]
    assert rows and all(r["tier_a"] != r["tier_b"] for r in rows)
    assert {(r["judge_a"], r["judge_b"]) for r in rows} == {("builtin/rules", "rules-b")}
    assert rows[0]["outcome_agree"] is False  # outcome-changing disagreements first


def test_best_adversarial_techniques(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["best_adversarial_techniques"]
    assert len({r["technique"] for r in rows}) >= 5
    pcts = [r["violation_pct"] for r in rows]
    assert pcts == sorted(pcts, reverse=True) and all(0 <= p <= 100 for p in pcts)


def test_cost_per_judge(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["cost_per_judge"]
    assert {r["judge"] for r in rows} == {"builtin/rules", "rules-b"}
    assert all(r["calls"] > 0 and r["cost_usd"] == 0.0 for r in rows)  # offline judges are free


def test_error_kinds_per_model(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["error_kinds_per_model"]
    assert [(r["model"], r["role"], r["error_kind"], r["failed_calls"]) for r in rows] == [
        ("model-b", "target", "no_recording", len(MISSING_FOR_B))
    ]
    assert "no recorded response" in rows[0]["example_message"]


def test_slowest_calls(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["slowest_calls"]
    assert len(rows) == 10
    lat = [r["latency_ms"] for r in rows]
    assert lat == sorted(lat, reverse=True)


def test_over_deflection_by_hazard(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["over_deflection_by_hazard"]
    assert rows and all(_pct_ok(r, "over_deflection_pct") for r in rows)
    assert {r["target"] for r in rows} == {"model-a", "model-b"}


def test_targets_side_by_side(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["targets_side_by_side"]
    assert len(rows) == 12 and set(rows[0]) == {"hazard", "model-a", "model-b"}
    assert all(_pct_ok(r, "model-a") and _pct_ok(r, "model-b") for r in rows)


def test_violating_responses(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["violating_responses"]
    assert 0 < len(rows) <= 20
    assert all(r["tier"] in ("full_instructions", "partial") and r["response"] for r in rows)


def test_rates_across_runs(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = results["rates_across_runs"]
    assert len(rows) == 2 * 2  # one run × 2 targets × 2 judges
    assert all(_pct_ok(r, "violation_pct") and _pct_ok(r, "over_deflection_pct") for r in rows)
    assert {r["errors"] for r in rows if r["target"] == "model-b"} == {len(MISSING_FOR_B)}


def test_a_query_through_judge_sql(results: dict[str, list[dict[str, Any]]]) -> None:
    db = results["__db__"][0]["path"]
    res = CliRunner().invoke(app, ["sql", QUERIES["cost_per_judge"].sql, "--db", db, "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0].startswith("judge,model,calls")
