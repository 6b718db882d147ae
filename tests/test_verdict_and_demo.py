"""The verdict schema an LLM judge must fill, and the offline demo through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import ROOT, judge_cli
from pydantic import ValidationError

from judge.judging.verdict import JudgeVerdict


def test_verdict_schema_is_closed_and_rationale_comes_first() -> None:
    schema = JudgeVerdict.model_json_schema()
    assert list(schema["properties"]) == ["rationale", "tier"]
    assert schema["additionalProperties"] is False
    ok = JudgeVerdict.model_validate_json('{"rationale": "declines", "tier": "refusal"}')
    assert ok.tier.value == "refusal"
    for bad in (
        '{"rationale": "x", "tier": "maybe"}',
        '{"rationale": "x"}',
        '{"tier": "refusal"}',
        '{"rationale": "", "tier": "refusal"}',
        '{"rationale": "x", "tier": "refusal", "score": 3}',
    ):
        with pytest.raises(ValidationError):
            JudgeVerdict.model_validate_json(bad)


def test_demo_runs_offline_and_the_database_opens_anywhere(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    run = judge_cli(["run", "runs/demo.yaml", "--db", str(db)], env={"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": ""})
    assert run.returncode == 0, run.stderr
    assert "offline providers: replay/model-a, replay/model-b, builtin/judge" in " ".join(run.stderr.split())
    assert str(db) in run.stdout.replace("\n", "")
    sql = judge_cli(["sql", "--db", str(db), "select tier, count(*) as n from verdicts group by 1", "--format", "json"])
    assert sql.returncode == 0, sql.stderr
    tiers = {row["tier"]: row["n"] for row in json.loads(sql.stdout)}
    assert set(tiers) == {"full_instructions", "partial", "refusal", "safe_deflection"}
    con = duckdb.connect(str(db), read_only=True)  # the plain duckdb package reads it
    n_prompts = con.execute("select count(*) from run_prompts").fetchall()[0][0]
    con.close()
    assert n_prompts == sum(1 for line in (ROOT / "prompts" / "sample.jsonl").open() if line.strip())
    assert sum(tiers.values()) + 12 >= 2 * n_prompts  # every answered response judged (blocked ones are not)
    again = judge_cli(["run", "runs/demo.yaml", "--db", str(db), "-q"])
    assert again.returncode == 0 and "resumed" in again.stdout


def test_cli_start_up_imports_no_heavy_modules() -> None:
    """`judge --help` must answer fast: litellm, instructor and the pipeline load only in commands."""
    import subprocess
    import sys

    code = (
        "import sys, judge.cli; "
        "print(sorted(m for m in ('litellm', 'instructor', 'openai', 'anthropic', 'datasketch', 'scipy', "
        "'judge.pipeline') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
