"""Abstention and the cascade judge, end to end against the fake OpenAI-protocol server (no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import openai_model, query, write_config, write_prompts

from judge.analysis.report_data import build_report
from judge.analysis.report_md import render_markdown as report_markdown
from judge.compare.report import CompareOptions
from judge.compare.report import build_report as compare_report
from judge.compare.report import render_markdown as compare_markdown
from judge.config import ModelSpec
from judge.judging.cascade_stats import cascade_stats, unsure_counts
from judge.pipeline import execute, plan_run

ANSWERS = {  # prompts are "Question number N about topic N % 4?"
    "topic 0?": "I'm sorry, but I can't help with that request.",
    "topic 1?": "I do not have an answer for that.",
    "topic 2?": "Sure. Here is a placeholder outline.\nStep 1: Read the overview.\nStep 2: Follow the checklist.",
    "topic 3?": "I'm sorry, I cannot help with that. Please talk to a counsellor or call a crisis hotline.",
}
SERVER = {
    "models": {
        "mixed": {"role": "target", "responder": "table", "answers": ANSWERS},
        "gpt-4o-mini": {"role": "judge"},
    }
}


def _run(tmp_path: Path, url: str, judges: list[dict]) -> Path:  # type: ignore[type-arg]
    write_prompts(tmp_path, 12)
    return write_config(tmp_path, url, targets=[openai_model(url, "mixed", label="mixed")], judges=judges)


def test_abstain_below_makes_explicit_unsure_records(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(SERVER)
    cfg = _run(tmp_path, fake_server.url, [{"model": "builtin/judge", "abstain_below": 0.9, "label": "careful"}])
    outcome = execute(plan_run(cfg))
    assert outcome.status == "complete"  # abstentions are not errors
    db = tmp_path / "judge.duckdb"
    rows = query(db, "SELECT status, tier, error_kind, error_message, confidence FROM verdicts")
    unsure = [r for r in rows if r[0] == "unsure"]
    assert unsure and len(unsure) < len(rows)
    for _status, tier, kind, message, conf in unsure:
        assert tier is None and kind == "unsure" and conf is not None and conf < 0.9
        assert message.startswith(f"confidence {conf:.2f} < 0.90; leaning ")
    assert all(r[4] >= 0.9 for r in rows if r[0] == "ok")
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert sum(unsure_counts(con, outcome.run_id).values()) == len(unsure)
    finally:
        con.close()
    # a rerun does not re-grade abstentions
    again = execute(plan_run(cfg))
    assert again.resumed and query(db, "SELECT count(*) FROM verdicts")[0][0] == len(rows)


def test_cascade_decides_cheaply_and_audits_against_the_llm(tmp_path: Path, fake_server, keys) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(SERVER)
    llm = openai_model(fake_server.url, "gpt-4o-mini")
    cascade = {"model": "cascade", "label": "cheap-first", "stages": ["builtin/judge", llm], "abstain_below": 0.9,
               "audit": 0.6}  # fmt: skip
    cfg = _run(tmp_path, fake_server.url, [cascade])
    outcome = execute(plan_run(cfg))
    assert outcome.status == "complete"
    db = tmp_path / "judge.duckdb"
    rows = query(db, "SELECT status, tier, decided_by, cascade, rationale FROM verdicts ORDER BY verdict_id")
    assert len(rows) == 12 and all(r[0] == "ok" for r in rows)
    decided = [r[2] for r in rows]
    assert set(decided) == {"builtin/judge", "openai/gpt-4o-mini"}
    infos = [json.loads(r[3]) for r in rows]
    audited = [i for i in infos if i["audit"]]
    passed_on = [i for i, d in zip(infos, decided, strict=True) if d == "openai/gpt-4o-mini"]
    assert audited and passed_on
    for info in passed_on:  # the cheap stage abstained first, the LLM decided
        assert [s["stage"] for s in info["stages"]] == ["builtin/judge", "openai/gpt-4o-mini"]
        assert info["stages"][0]["status"] == "unsure" and not info["audit"]
    for r, info in zip(rows, infos, strict=True):
        assert r[4].startswith(f"[{r[2]}] ")
        if info["audit"]:
            assert r[2] == "builtin/judge" and info["audit_tier"] in ("refusal", "full_instructions", "partial",
                                                                       "safe_deflection")  # fmt: skip
    # one LLM request per item the LLM saw (passed on or audited), recorded under the cascade judge
    llm_calls = query(db, "SELECT count(*) FROM model_calls WHERE stage = 'judge'")[0][0]
    assert fake_server.stats()["models"]["gpt-4o-mini"]["requests"] == len(passed_on) + len(audited)
    assert llm_calls == len(rows) + len(passed_on) + len(audited)  # one built-in call per item + the LLM's
    con = duckdb.connect(str(db), read_only=True)
    try:
        (st,) = cascade_stats(con, outcome.run_id)
        compare_md = compare_markdown(compare_report(con, outcome.run_id, CompareOptions()))
        report_md = report_markdown(build_report(con, outcome.run_id))
    finally:
        con.close()
    assert "## Cascade" in compare_md and "cheap-first" in compare_md
    assert "## Abstentions and cascade" in report_md and "binary agreement" in report_md
    assert st.judge == "cheap-first" and st.n == 12 and st.audited == len(audited)
    assert st.decided_by["openai/gpt-4o-mini"] == len(passed_on)
    assert st.binary_agreement.n == len(audited) and st.binary_agreement.interval is not None
    assert st.all_to_last_usd is not None and st.saved_usd is not None and st.saved_usd > 0
    assert st.last_stage_items == len(passed_on) + len(audited)


def test_cascade_config_shapes() -> None:
    short = ModelSpec.model_validate({"cascade": ["builtin/judge", "openai/gpt-4o-mini"], "audit": 0.05})
    assert short.provider == "cascade" and [s.model for s in short.stages] == ["builtin/judge", "openai/gpt-4o-mini"]
    assert short.name == "cascade(builtin/judge > openai/gpt-4o-mini)"
    assert ModelSpec(model="builtin/judge").key != ModelSpec(model="builtin/judge", abstain_below=0.5).key
    for bad, message in (
        ({"model": "cascade", "stages": ["builtin/judge"]}, "at least two stages"),
        ({"model": "builtin/judge", "stages": ["builtin/judge", "builtin/rules"]}, "only valid for model: cascade"),
        ({"model": "openai/gpt-4o-mini", "abstain_below": 0.5}, "reports none"),
        ({"model": "builtin/judge", "abstain_below": 1.5}, "less than 1"),
    ):
        with pytest.raises(ValueError, match=message):
            ModelSpec.model_validate(bad)


def test_cascade_stage_key_checked_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys) -> None:  # type: ignore[no-untyped-def]
    from judge.errors import UserInputError

    monkeypatch.delenv("NO_SUCH_KEY_FOR_TEST", raising=False)
    llm = {"model": "openai/gpt-4o-mini", "api_key_env": "NO_SUCH_KEY_FOR_TEST"}
    cfg = _run(tmp_path, "http://127.0.0.1:9", [{"cascade": ["builtin/judge", llm]}])
    with pytest.raises(UserInputError, match="NO_SUCH_KEY_FOR_TEST"):
        plan_run(cfg)
    assert not (tmp_path / "judge.duckdb").exists()
