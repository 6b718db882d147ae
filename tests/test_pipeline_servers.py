"""End to end through litellm and instructor against real HTTP servers on 127.0.0.1 (no mocks)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import anthropic_model, openai_model, table_counts, write_config, write_prompts

from judge.pipeline import execute, plan_run
from judge.providers.litellm_backend import JUDGE_PARSE_RETRIES
from judge.store.audit import judge_prompt

SERVER = {
    "models": {
        "gpt-fake": {"role": "target", "responder": "by_intent"},
        "claude-fake": {"role": "target", "responder": "comply_all"},
        "judge-a": {"role": "judge"},
        "judge-bad": {"role": "judge", "faults": {"bad_schema": 1.0}},
    }
}


def _two_protocol_run(tmp_path: Path, url: str) -> Path:
    write_prompts(tmp_path, 12)
    return write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-fake", label="gpt"), anthropic_model(url, "claude-fake", label="claude")],
        judges=[openai_model(url, "judge-a", label="judge-a"), {"model": "builtin/judge"}],
    )


def test_two_targets_llm_judge_full_run_and_resume(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(SERVER)
    cfg = _two_protocol_run(tmp_path, fake_server.url)
    outcome = execute(plan_run(cfg))
    db = tmp_path / "judge.duckdb"
    assert outcome.status == "complete"
    counts = table_counts(db)
    assert counts["responses"] == 24 and counts["verdicts"] == 48 and counts["run_prompts"] == 12

    con = duckdb.connect(str(db), read_only=True)
    by_target = dict(
        con.execute("select target, count(*) filter (where status = 'ok') from responses group by 1").fetchall()
    )
    assert by_target == {"gpt": 12, "claude": 12}
    # the fake judge's keyword rule: comply_all answers contain "Step 1" -> full_instructions
    tiers = dict(
        con.execute(
            "select tier, count(*) from verdicts v join responses r using (response_id) "
            "where v.judge = 'judge-a' and r.target = 'claude' group by 1"
        ).fetchall()
    )
    assert tiers == {"full_instructions": 12}
    # by_intent refuses marked prompts: every unsafe/adversarial answer of gpt is a refusal
    refused = con.execute(
        "select count(*) from scored where target = 'gpt' and judge = 'judge-a' "
        "and intent <> 'safe' and tier = 'refusal'"
    ).fetchall()[0][0]
    assert refused == 8
    # one model_calls row per HTTP request the server saw
    stats = fake_server.stats()
    calls = dict(
        con.execute("select model, count(*) from model_calls where model not like 'builtin/%' group by 1").fetchall()
    )
    # identical (prompt, answer) pairs of the two targets are judged once, the copies reuse the verdict
    distinct = con.execute("select count(distinct (prompt_hash, text)) from responses").fetchall()[0][0]
    reused = con.execute("select count(*) from verdicts where judge = 'judge-a' and reused_from is not null")
    assert reused.fetchall()[0][0] == 24 - distinct
    con.close()
    assert calls == {
        f"{p}/{m}": stats["models"][m]["requests"]
        for p, m in (("openai", "gpt-fake"), ("anthropic", "claude-fake"), ("openai", "judge-a"))
    }
    assert stats["models"]["judge-a"]["requests"] == distinct < 24
    total = stats["total_requests"]

    # Rerun: resumes the same run, makes zero new model calls, adds no rows.
    again = execute(plan_run(cfg))
    assert again.run_id == outcome.run_id and again.resumed
    assert fake_server.stats()["total_requests"] == total
    assert table_counts(db) == counts


def test_judge_that_breaks_schema_gives_error_record(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(SERVER)
    write_prompts(tmp_path, 3)
    url = fake_server.url
    cfg = write_config(tmp_path, url, targets=[openai_model(url, "gpt-fake")], judges=[openai_model(url, "judge-bad")])
    outcome = execute(plan_run(cfg))
    assert outcome.status == "incomplete"
    con = duckdb.connect(str(tmp_path / "judge.duckdb"), read_only=True)
    rows = con.execute("select status, tier, error_kind, raw_output, verdict_id, attempts from verdicts").fetchall()
    prompts = {r[4]: judge_prompt(con, r[4]).text for r in rows}  # rebuilt from the stored rubric
    con.close()
    assert len(rows) == 3
    for status, tier, kind, raw, vid, attempts in rows:
        assert (status, tier, kind) == ("error", None, "judge_unparseable")
        assert raw  # the judge's last answer is kept for audit
        assert "<<<BEGIN RESPONSE" in prompts[vid]
        assert attempts == 1 + JUDGE_PARSE_RETRIES
    assert fake_server.stats()["models"]["judge-bad"]["requests"] == 3 * (1 + JUDGE_PARSE_RETRIES)


@pytest.mark.parametrize("mode", ["json", "md_json"])
def test_judge_modes_for_servers_without_tools(tmp_path: Path, fake_server, keys, mode: str) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(SERVER)
    write_prompts(tmp_path, 6)
    url = fake_server.url
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "claude-fake", label="t")],
        judges=[
            openai_model(url, "judge-a", judge_mode=mode),
            anthropic_model(url, "judge-a", judge_mode=mode, label="a"),
        ],
    )
    outcome = execute(plan_run(cfg))
    assert outcome.status == "complete"
    con = duckdb.connect(str(tmp_path / "judge.duckdb"), read_only=True)
    tiers = con.execute("select judge, tier, count(*) from verdicts group by all order by all").fetchall()
    con.close()
    assert tiers == [("a", "full_instructions", 6), ("openai/judge-a", "full_instructions", 6)]
    shapes = fake_server.stats()["models"]["judge-a"]["answer_shapes"]
    assert shapes.get("tool_call", 0) == 0 and sum(shapes.values()) == 12
