"""One policy: Rubric.outcome (Python) equals the `scored` view (SQL) for every shipped rubric.

Every intent × tier (and `blocked`) × taxonomy path around every override (the path itself, a
child, its parent, a sibling, an unrelated hazard) of every rubrics/*.yaml, plus a verdict made
under a second rubric: outcomes follow the rubric the verdict was made under.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from judge.prompts.model import Intent
from judge.rubric import Rubric, load_rubric
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
from judge.tiers import BLOCKED, TIERS

ROOT = Path(__file__).resolve().parents[1]
RUBRICS = sorted((ROOT / "rubrics").glob("*.yaml"))
NOW = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)


def _paths(rubric: Rubric) -> list[str]:
    paths = {"unrelated_hazard", "unrelated_hazard/topic"}
    for ov in rubric.overrides:
        m = list(ov.match)
        paths |= {"/".join(m), "/".join([*m, "child"]), "/".join([*m[:-1], "zz_sibling"])}
        paths |= {"/".join(m[:k]) for k in range(1, len(m))}
    return sorted(p for p in paths if p and len(p.split("/")) <= 3)


def _store(con: duckdb.DuckDBPyConnection, rubric: Rubric, run_rubric: str) -> list[tuple[str, str, str, str]]:
    """One response per intent × path × tier, judged by 'j' under `rubric`; returns the cases."""
    insert_rows(con, "rubrics", [RubricRow(rubric.version, rubric.name, None, None).as_row()])
    insert_rows(con, "policy_rules", policy_rows(rubric))
    run_id = f"run-{rubric.version}"
    run = RunRow(run_id, "t", "f", None, None, run_rubric, NOW, None, "complete", None, None, None)
    insert_rows(con, "runs", [run.as_row()])
    insert_rows(con, "run_models", [RunModelRow(run_id, "jk", "judge", "j", rubric.version).as_row()])
    cases, prompts, responses, verdicts = [], [], [], []
    for intent in Intent:
        for path in _paths(rubric):
            for tier in (*TIERS, BLOCKED):
                n = len(cases)
                levels = [*path.split("/"), None, None]
                phash = f"p-{intent.value}-{path}"
                prompts.append(
                    PromptStoreRow(
                        phash, phash, "text", None, path, levels[0], levels[1], levels[2],
                        intent.value, None, None, None, None,
                    ).as_row()
                )  # fmt: skip
                rid = f"{run_id}-r{n}"
                status = "blocked" if tier == BLOCKED else "ok"
                responses.append(
                    ResponseRow(
                        rid, run_id, phash, phash, "tk", "t", status, "answer", None,
                        None, None, 1, None, None, None, None, NOW,
                    ).as_row()
                )  # fmt: skip
                if tier != BLOCKED:
                    verdicts.append(
                        VerdictRow(
                            f"v{rid}", run_id, rid, "jk", "j", rubric.version, f"c{rid}", "ok", tier, 0.9,
                            None, None, None, None, 1, None, None, None, None, None, NOW,
                        ).as_row()
                    )  # fmt: skip
                cases.append((rid, intent.value, path, tier))
    insert_rows(con, "prompts", prompts)
    insert_rows(con, "responses", responses)
    insert_rows(con, "verdicts", verdicts)
    return cases


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.name)
def test_rubric_outcome_equals_scored_view(path: Path) -> None:
    rubric = load_rubric(path)
    con = duckdb.connect()
    migrate(con)
    cases = _store(con, rubric, rubric.version)
    scored = dict(con.execute("SELECT response_id, outcome FROM scored").fetchall())
    assert len(scored) == len(cases)
    for rid, intent, tax, tier in cases:
        assert scored[rid] == rubric.outcome_at(intent, tier, tax).value, (intent, tax, tier)


def test_outcomes_follow_the_rubric_the_verdict_was_made_under() -> None:
    """A regrade under another rubric: scored uses that rubric's policy, not the run's."""
    default = load_rubric(ROOT / "rubrics" / "default.yaml")
    lenient = default.model_copy(
        update={
            "version": "r-lenient",
            "policy": {
                intent: pol.model_copy(update={"acceptable": (*TIERS, BLOCKED), "violation": (), "over_deflection": ()})
                for intent, pol in default.policy.items()
            },
            "overrides": (),
        }
    )
    con = duckdb.connect()
    migrate(con)
    cases = _store(con, lenient, run_rubric=default.version)  # the run says default; the verdicts lenient
    outcomes = {o for (o,) in con.execute("SELECT DISTINCT outcome FROM scored").fetchall()}
    assert outcomes == {"acceptable"} and len(cases) > 0
    assert con.execute("SELECT DISTINCT rubric_version FROM scored").fetchall() == [("r-lenient",)]
