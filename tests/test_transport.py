"""The lean transport against the litellm/instructor path: same requests on the wire, same stored results."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import ROOT, anthropic_model, openai_model, query, write_config, write_prompts

from judge.config import ModelSpec
from judge.pipeline import execute, plan_run
from judge.providers.lean import LeanJudge, LeanTarget
from judge.providers.litellm_backend import LitellmJudge, LitellmTarget
from judge.providers.registry import resolve_judge, resolve_target

MODES = ("tools", "json", "md_json")
# one server-side model per judge, so the server's per-model answer sequence (which bad answer it
# draws) is the same on both paths
SERVER = {
    "models": {
        "gpt-t": {"role": "target", "responder": "by_intent"},
        "claude-t": {"role": "target", "responder": "comply_all"},
        "judge-a": {"role": "judge"},
        **{f"bad-{p}-{m}": {"role": "judge", "faults": {"bad_schema": 1.0}} for p in "oa" for m in MODES},
    }
}
_IDS = re.compile(r"\b(call|toolu|chatcmpl|msg)_[0-9a-f]{24}\b")


def _capture(server: Any) -> list[tuple[str, dict[str, Any]]]:
    """Record every chat request body the server receives (path, parsed JSON)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    original = server._chat

    def recording(req: Any, proto: Any) -> Any:
        seen.append((req.path, json.loads(req.body)))
        return original(req, proto)

    server._chat = recording
    return seen


def _mask(value: Any) -> Any:
    """Mask what depends on the order the server saw requests in (its answer ids, which invalid verdict
    it drew: a missing tier or tier "maybe", and so the validation error), keeping everything else."""
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items() if not (k == "tier" and v == "maybe")}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str):
        value = _IDS.sub(r"\1_ID", value)
        value = value.replace(', "tier": "maybe"', "")
        error = r"1 validation error for JudgeVerdict\n.*?(?=\nRecall|$)"
        return re.sub(error, "<validation error>", value, flags=re.S)
    return value


def _canonical(bodies: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Bodies as sorted canonical JSON, masked."""
    return sorted(json.dumps([p, _mask(b)], sort_keys=True) for p, b in bodies)


def _run(tmp: Path, url: str, transport: str) -> Path:
    tmp.mkdir()
    write_prompts(tmp, 6)
    # a generous timeout: instructor stops re-asking once it has passed (a loaded machine must not cut re-asks)
    t = {"transport": transport, "params": {"temperature": 0}, "timeout_s": 120}
    judges = []
    for mode in MODES:
        judges.append(openai_model(url, "judge-a", judge_mode=mode, label=f"o-{mode}", **t))
        judges.append(anthropic_model(url, "judge-a", judge_mode=mode, label=f"a-{mode}", **t))
        judges.append(openai_model(url, f"bad-o-{mode}", judge_mode=mode, concurrency=1, **t))
        judges.append(anthropic_model(url, f"bad-a-{mode}", judge_mode=mode, concurrency=1, **t))
    cfg = write_config(
        tmp,
        url,
        targets=[openai_model(url, "gpt-t", label="gpt", **t), anthropic_model(url, "claude-t", label="claude", **t)],
        judges=judges,
    )
    plan = plan_run(cfg)
    want = LeanJudge if transport == "auto" else LitellmJudge
    assert all(isinstance(j, want) for j in plan.judges)
    execute(plan)
    return tmp / "judge.duckdb"


VERDICTS = """SELECT r.target, v.judge, r.prompt_id, v.status, v.tier, v.rationale, v.raw_output, v.error_kind,
                     v.error_message, v.attempts, v.prompt_tokens, v.completion_tokens, v.cost_usd
              FROM verdicts v JOIN responses r USING (response_id) WHERE v.judge NOT LIKE '%bad-%' ORDER BY ALL"""
# the invalid judges' answers depend on the order the server saw requests in: their outcome only
FAILED = """SELECT r.target, v.judge, r.prompt_id, v.status, v.tier, v.error_kind, v.attempts,
                   v.raw_output IS NOT NULL, v.error_message LIKE 'no valid verdict after 3 answer(s): %'
            FROM verdicts v JOIN responses r USING (response_id) WHERE v.judge LIKE '%bad-%' ORDER BY ALL"""
RESPONSES = "SELECT target, prompt_id, status, text, finish_reason, attempts FROM responses ORDER BY ALL"
CALLS = """SELECT stage, model, status, http_status, error_kind, cost_usd FROM model_calls ORDER BY ALL"""


def test_lean_and_litellm_paths_send_the_same_requests_and_store_the_same_results(
    tmp_path: Path, fake_server: Any, keys: Any
) -> None:
    fake_server.set_config(SERVER)
    seen = _capture(fake_server)
    lean_db = _run(tmp_path / "lean", fake_server.url, "auto")
    lean_bodies = list(seen)
    seen.clear()
    fake_server.reset()
    litellm_db = _run(tmp_path / "litellm", fake_server.url, "litellm")
    assert len(lean_bodies) == len(seen) > 0
    # every request (targets, judges in three modes over two protocols, instructor's re-asks) is the same
    assert _canonical(lean_bodies) == _canonical(seen)
    assert any(b.get("max_tokens") for p, b in seen if p.endswith("/messages"))
    assert sum(1 for _, b in seen if len(b["messages"]) > 2) > 10  # re-asks were compared too
    for sql in (RESPONSES, VERDICTS, FAILED, CALLS):
        assert query(lean_db, sql) == query(litellm_db, sql)
    errors = dict(query(lean_db, "SELECT error_kind, count(*) FROM verdicts WHERE status = 'error' GROUP BY 1"))
    assert errors == {"judge_unparseable": 6 * 12}  # 6 invalid judges x 12 responses


def test_transport_choice(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/v1"
    assert isinstance(resolve_target(ModelSpec(model="openai/x", api_base=url)), LeanTarget)
    assert isinstance(resolve_judge(ModelSpec(model="anthropic/x", api_base=url)), LeanJudge)
    assert isinstance(resolve_judge(ModelSpec(model="openai/x", transport="litellm")), LitellmJudge)
    # params the lean path does not reproduce, other providers: litellm
    assert isinstance(resolve_target(ModelSpec(model="openai/x", params={"logit_bias": {}})), LitellmTarget)
    assert isinstance(resolve_target(ModelSpec(model="openai/o3-mini", params={"max_tokens": 5})), LitellmTarget)
    assert isinstance(resolve_target(ModelSpec(model="gemini/gemini-2.5-pro")), LitellmTarget)


def test_uncovered_conversation_goes_through_litellm(tmp_path: Path, fake_server: Any, keys: Any) -> None:
    """A prompt turn the lean path does not reproduce (here an empty assistant turn) is sent by litellm."""
    fake_server.set_config(SERVER)
    spec = ModelSpec(model="openai/gpt-t", api_base=fake_server.url + "/v1", api_key_env="FAKE_OPENAI_KEY")
    target = LeanTarget(spec)
    import asyncio

    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "?"},
    ]
    gen = asyncio.run(target.generate(None, messages))  # type: ignore[arg-type]
    assert gen.status == "ok" and target._fallback is not None


def test_first_request_does_not_wait_for_litellm(tmp_path: Path, fake_server: Any, keys: Any) -> None:
    """A run whose models are all on the lean path never imports litellm; the openai SDK (which
    instructor's schema helpers import) only once the judge stage starts."""
    fake_server.set_config(SERVER)
    write_prompts(tmp_path, 3)
    url = fake_server.url
    cfg = write_config(tmp_path, url, targets=[anthropic_model(url, "claude-t")], judges=[openai_model(url, "judge-a")])
    code = (
        "import sys, os; from judge.pipeline import execute, plan_run; "
        f"p = plan_run({str(cfg)!r}); before = 'openai' in sys.modules; o = execute(p); "
        "print(o.status, 'litellm' in sys.modules, before)"
    )
    env = {"PATH": "/usr/bin:/bin", "FAKE_OPENAI_KEY": "sk-test-openai-0000", "FAKE_ANTHROPIC_KEY": "sk-ant-test-0000"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.stdout.split() == ["complete", "False", "False"], out.stderr[-2000:]


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-pro"])
def test_prices_match_litellm(model: str) -> None:
    from judge.providers.litellm_backend import litellm_module
    from judge.providers.prices import token_cost

    litellm = litellm_module()
    for pt, ct in ((1000, 300), (250_000, 1000)):
        expected = sum(litellm.cost_per_token(model=model.split("/", 1)[1], prompt_tokens=pt, completion_tokens=ct))
        assert token_cost(model, pt, ct) == pytest.approx(expected)
    assert token_cost("openai/not-a-priced-model", 10, 10) is None
