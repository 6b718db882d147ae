"""The aggregate `metrics` view and the report's agreement equal the same counts taken row by row.

`metrics` counts responses per taxonomy cell and verdicts per tier instead of going through `scored`
row by row, and the report's judge agreement packs each response's tiers into one integer instead
of a self-join: both are checked here against the straightforward computation, on a run with every
kind of item (answered, blocked, failed responses; ok, error and unsure verdicts; missing verdicts;
a judge regraded under a second rubric).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from judge.analysis import agreement
from judge.rubric import load_rubric
from judge.store.migrations import migrate
from judge.store.rows import (
    PromptStoreRow,
    ResponseRow,
    RubricRow,
    RunModelRow,
    RunRow,
    VerdictRow,
    insert_rows,
    policy_rows,
)
from judge.tiers import TIERS

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
PATHS = ["hate", "hate/slurs", "specialized_advice/medical", "specialized_advice", "privacy/doxxing/home"]


def _run(con: duckdb.DuckDBPyConnection, seed: int, run_id: str = "run") -> None:
    rng = random.Random(seed)
    default = load_rubric(ROOT / "rubrics" / "default.yaml")
    strict = default.model_copy(update={"version": "r-strict", "overrides": ()})
    for r in (default, strict):
        insert_rows(con, "rubrics", [RubricRow(r.version, r.name, None, None).as_row()])
        insert_rows(con, "policy_rules", policy_rows(r))
    run = RunRow(run_id, "t", "f", None, None, default.version, NOW, None, "complete", None, None, None)
    insert_rows(con, "runs", [run.as_row()])
    judges = [("ka", "a", default.version), ("kb", "b", default.version), ("kc", "c", strict.version)]
    insert_rows(con, "run_models", [RunModelRow(run_id, k, "judge", n, v).as_row() for k, n, v in judges])
    prompts, responses, verdicts = [], [], []
    for i in range(60):
        path = rng.choice(PATHS)
        levels = [*path.split("/"), None, None]
        intent = rng.choice(["safe", "unsafe", "adversarial"])
        prompts.append(
            PromptStoreRow(
                f"h{i}", f"p{i}", "t", None, path, levels[0], levels[1], levels[2], intent,
                "role_play" if intent == "adversarial" else None, None, None, None,
            ).as_row()
        )  # fmt: skip
        for target in ("t1", "t2"):
            rid = f"{run_id}r{i}{target}"
            status = rng.choices(["ok", "blocked", "error"], [8, 1, 1])[0]
            responses.append(
                ResponseRow(
                    rid, run_id, f"h{i}", f"p{i}", target, target, status, "x", None,
                    None, None, 1, None, None, None, None, NOW,
                ).as_row()
            )  # fmt: skip
            if status != "ok":
                if status == "blocked":  # a verdict left from before the provider blocked the answer
                    verdicts.append(
                        VerdictRow(
                            f"v{rid}ka", run_id, rid, "ka", "a", default.version, "c", "ok", "refusal", 0.5,
                            None, None, None, None, 1, None, None, None, None, None, NOW,
                        ).as_row()
                    )  # fmt: skip
                continue
            for key, name, version in judges:
                for v in {version, default.version}:  # c also has verdicts under the run's rubric
                    kind = rng.choices(["ok", "error", "unsure", "missing"], [10, 1, 1, 1])[0]
                    if kind == "missing":
                        continue
                    tier = rng.choice(TIERS) if kind == "ok" else None
                    verdicts.append(
                        VerdictRow(
                            f"v{rid}{key}{v}", run_id, rid, key, name, v, "c", kind, tier, 0.5,
                            None, None, None, None, 1, None, None, None, None, None, NOW,
                        ).as_row()
                    )  # fmt: skip
    insert_rows(con, "prompts", prompts)
    insert_rows(con, "responses", responses)
    insert_rows(con, "verdicts", verdicts)


ROW_BY_ROW = """
SELECT run_id, target, judge, intent, l1, l2, count(*), count(*) FILTER (WHERE outcome IS NOT NULL),
       count(*) FILTER (WHERE is_violation), count(*) FILTER (WHERE is_over_deflection),
       count(*) FILTER (WHERE is_acceptable), count(*) FILTER (WHERE is_error), count(*) FILTER (WHERE is_unsure),
       count(*) FILTER (WHERE tier = 'blocked'), count(*) FILTER (WHERE tier = 'full_instructions'),
       count(*) FILTER (WHERE tier = 'partial'), count(*) FILTER (WHERE tier = 'refusal'),
       count(*) FILTER (WHERE tier = 'safe_deflection')
FROM scored GROUP BY ALL ORDER BY ALL
"""
FROM_VIEW = """
SELECT run_id, target, judge, intent, l1, l2, n, n_scored, violations, over_deflections, acceptable, errors,
       unsure, blocked, full_instructions, partial, refusal, safe_deflection
FROM metrics WHERE level = 'l2' AND intent IN ('safe', 'unsafe', 'adversarial') ORDER BY ALL
"""


def test_metrics_view_equals_counts_over_scored() -> None:
    for seed in range(3):
        con = duckdb.connect()
        migrate(con)
        _run(con, seed)
        rows = con.execute(ROW_BY_ROW).fetchall()
        assert rows == con.execute(FROM_VIEW).fetchall()
        assert sum(r[12] for r in rows) > 0 and sum(r[11] for r in rows) > 0  # unsure and errors present
        # judge c is scored under r-strict (no overrides), a and b under the run's rubric
        assert {
            r[0] for r in con.execute("SELECT DISTINCT rubric_version FROM scored WHERE judge = 'c'").fetchall()
        } == {"r-strict"}
        # the harmful and all scopes and the coarser levels add up
        total = con.execute(
            "SELECT sum(n), sum(n_scored), sum(unsure) FROM metrics WHERE level = 'overall' AND intent = 'all'"
        ).fetchall()[0]
        assert (
            total
            == con.execute("SELECT count(*), count(outcome), count(*) FILTER (WHERE is_unsure) FROM scored").fetchall()[
                0
            ]
        )


def _definition_over_scored() -> str:
    """Migration 007's `metrics`: one pass over `scored`, row by row (the reference definition)."""
    sql = (ROOT / "judge" / "store" / "sql" / "007_scoring_at_scale.sql").read_text("utf-8")
    start = sql.index("CREATE OR REPLACE VIEW metrics AS")
    end = sql.index("CREATE OR REPLACE VIEW technique_metrics")
    return sql[start:end].replace("CREATE OR REPLACE VIEW metrics AS", "CREATE TEMP VIEW metrics_over_scored AS")


def test_whole_metrics_view_equals_its_definition_over_scored() -> None:
    """Every column of every row (all scopes and levels, two runs) equals the row-by-row definition."""
    con = duckdb.connect()
    migrate(con)
    _run(con, 11, "run")
    _run(con, 12, "run2")
    con.execute(_definition_over_scored())
    got = con.execute("SELECT * FROM metrics ORDER BY ALL").fetchall()
    assert len(got) > 100 and {r[0] for r in got} == {"run", "run2"}
    assert {r[4] for r in got} == {"overall", "l1", "l2"} and {r[3] for r in got} >= {"harmful", "all", "safe"}
    assert got == con.execute("SELECT * FROM metrics_over_scored ORDER BY ALL").fetchall()
    assert [c[0] for c in con.execute("SELECT * FROM metrics LIMIT 0").description] == [
        c[0] for c in con.execute("SELECT * FROM metrics_over_scored LIMIT 0").description
    ]


def test_packed_agreement_equals_the_judge_pairs_view(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    con = duckdb.connect()
    migrate(con)
    _run(con, 7)
    packed = agreement.pairwise_agreement(con, "run")
    monkeypatch.setattr(agreement, "_MAX_PACKED", 0)  # the self-join path over judge_pairs
    assert packed == agreement.pairwise_agreement(con, "run")
    assert [(p.judge_a, p.judge_b) for p in packed] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert all(p.n > 0 for p in packed)
