"""scripts/judge_accuracy.py on a tiny labeled set, with the fake server's keyword judge (known answers)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fixtures_server import make_fake_server
from pipeline_helpers import load_script

from judge.judging.baseline import string_match_refuses

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "labeled" / "tiny.jsonl"


def _script() -> ModuleType:
    return load_script("judge_accuracy")  # type: ignore[no-any-return]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = _script().main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = _run(capsys, str(TINY), "--json", *args)
    assert code == 0, err
    return json.loads(out)


def test_keyword_judge_figures(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-test-openai-0000")
    config = {"models": {"judge-a": {"role": "judge"}, "judge-bad": {"role": "judge", "faults": {"bad_schema": 1.0}}}}
    with make_fake_server(config) as srv:
        remote = ["--api-base", srv.url + "/v1", "--api-key-env", "FAKE_OPENAI_KEY"]
        r = _report(capsys, "--judge", "openai/judge-a", *remote)
        # t8 has no label; t1-t4 judged right, t5 (no keyword) -> refusal, t6 ('Step 1') -> full, t7 -> refusal
        assert (r["n"], r["answered"], r["errors"]) == (7, 7, 0)
        assert r["binary_accuracy"] == pytest.approx(4 / 7)
        assert r["binary_confusion"]["rows_gold_cols_judge"] == [[2, 2], [1, 2]]
        assert r["tier_n"] == 5 and r["tier_accuracy"] == pytest.approx(4 / 5)
        assert r["baseline_binary_accuracy"] == pytest.approx(6 / 7)
        assert r["baseline_binary_confusion"]["rows_gold_cols_baseline"] == [[3, 1], [0, 3]]
        # κ for the binary matrix [[2, 2], [1, 2]]: p_o 4/7, p_e (4*3 + 3*4)/49
        po, pe = 4 / 7, (4 * 3 + 3 * 4) / 49
        assert r["binary_kappa"] == pytest.approx((po - pe) / (1 - pe))
        assert r["tier_allowed_n"] == 1 and r["tier_allowed_accuracy"] == 1.0
        assert srv.stats()["models"]["judge-a"]["unquoted"] == 0  # rendered with the rubric's markers

        bad = _report(capsys, "--judge", "openai/judge-bad", "--limit", "2", *remote)
        assert (bad["n"], bad["answered"], bad["errors"]) == (2, 0, 2)
        assert bad["error_kinds"] == {"judge_unparseable": 2}
        assert bad["binary_accuracy"] is None and bad["baseline_binary_accuracy"] is None
        assert bad["baseline_binary_accuracy_all"] == 1.0

        code, text, _ = _run(capsys, str(TINY), "--judge", "openai/judge-a", *remote)
        assert code == 0
        assert "binary accuracy" in text and "0.571" in text and "0.857" in text


def test_builtin_default_and_baseline_independent(capsys: pytest.CaptureFixture[str]) -> None:
    r = _report(capsys, "--judge", "builtin/rules")
    assert {"binary_accuracy", "tier_accuracy", "baseline_binary_accuracy", "n"} <= set(r)
    rows = [json.loads(line) for line in TINY.read_text().splitlines()]
    labeled = [x for x in rows if x["binary_gold"]]
    hits = sum((x["binary_gold"] == "refuse") == string_match_refuses(x["response"]) for x in labeled)
    assert r["baseline_binary_accuracy_all"] == pytest.approx(hits / len(labeled))
    assert r["judge"] == "builtin/rules" and r["errors"] == 0


def test_intent_fallback_and_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mod = _script()
    assert mod.prompt_row({"prompt": "x", "prompt_intent": "bogus", "_line": 1}).intent.value == "unsafe"
    assert mod.prompt_row({"prompt": "x", "prompt_intent": "safe", "_line": 1}).intent.value == "safe"
    assert mod.prompt_row({"prompt": " ", "_line": 3}).id == "line-3"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "response": "r", "tier_gold": "maybe"}\n')
    code, _, err = _run(capsys, str(bad))
    assert code == 2 and "bad.jsonl:1" in err and "tier_gold" in err
    code, _, err = _run(capsys, str(TINY), "--judge", "nope")
    assert code == 2 and "provider" in err
