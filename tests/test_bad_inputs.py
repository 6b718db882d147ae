"""Every malformed input: exit code 2, one line naming file, line, field and what was expected,
no traceback, and nothing written to the database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from judge.cli import main

BAD = Path(__file__).parent / "bad_inputs"
GOOD_RECORDINGS = BAD / "good" / "recordings.jsonl"
RUBRIC = Path(__file__).resolve().parents[1] / "rubrics" / "default.yaml"

# file -> fragments the one-line message must contain (":N:" is the line number)
PROMPTS = {
    "bad_json_line.jsonl": [":2:", "invalid JSON", "one JSON object per line"],
    "missing_id.jsonl": [":2:", "field 'id'", "required field is missing"],
    "duplicate_id.jsonl": [":2:", "field 'id'", "duplicate id 'ok-1'", "expected unique ids"],
    "unknown_intent.jsonl": [":2:", "field 'intent'", "'safe', 'unsafe' or 'adversarial'"],
    "empty_prompt.jsonl": [":2:", "field 'prompt'", "must not be empty"],
    "taxonomy_too_deep.jsonl": [":2:", "field 'taxonomy'", "at most 3"],
    "non_utf8.jsonl": [":2:", "invalid UTF-8", "expected UTF-8"],
    "bom.jsonl": [":1:", "byte-order mark"],
    "prompt_and_messages.jsonl": [":2:", "exactly one of 'prompt' or 'messages'"],
    "messages_last_not_user.jsonl": [":2:", "last message must have role 'user'"],
    "taxonomy_empty.jsonl": [":2:", "field 'taxonomy'", "at least 1"],
    "not_an_object.jsonl": [":2:", "expected a JSON object"],
    "unknown_field.jsonl": [":2:", "field 'severity'", "unknown field"],
    "lone_surrogate.jsonl": [":2:", "field 'prompt'", "lone UTF-16 surrogate", "valid Unicode"],
}
RUBRICS = {
    "unknown_tier.yaml": ["field 'tiers'", "unknown tier 'half_instructions'", "expected one of"],
    "policy_undefined_tier.yaml": ["policy.unsafe.violation names undefined tier 'harmful'"],
    "tier_in_no_policy_set.yaml": ["policy.adversarial", "tier 'partial' is in no policy set"],
    "template_missing_response.yaml": ["field 'judge_template'", "{response}"],
    "tier_in_two_sets.yaml": ["policy.safe", "tier 'refusal' is in both"],
    "missing_intent_policy.yaml": ["policy has no entry for intent 'adversarial'"],
    "version_key.yaml": ["field 'version'", "computed from the file's content"],
    "invalid_yaml.yaml": ["invalid YAML", ":"],
}
CONFIGS = {
    "unknown_key.yaml": [":2:", "field 'retries'", "unknown field"],
    "missing_prompt_file.yaml": ["field 'prompts.0'", "no_such_prompts.jsonl", "not found"],
    "negative_concurrency.yaml": ["field 'targets.0.concurrency'", "greater than or equal to 1"],
    "model_without_provider.yaml": ["field 'judges.0.model'", "has no provider", "provider/name"],
    "literal_key.yaml": ["field 'judges.0.api_key_env'", "NAME of an environment variable"],
    "key_in_params.yaml": ["field 'judges.0.params'", "looks like a credential"],
    "replay_without_recordings.yaml": ["field 'targets.0'", "needs 'recordings'"],
    "missing_rubric.yaml": ["field 'rubric'", "no-such-rubric.yaml", "not found"],
    "unknown_builtin_judge.yaml": ["field 'judges.0.model'", "unknown built-in judge 'builtin/oracle'"],
    "invalid_yaml.yaml": [":2:", "invalid YAML"],
    "bad_name.yaml": ["field 'name'", "should match pattern"],
    "key_variable_not_set.yaml": ["field 'judges.0.api_key_env'", "JUDGE_TEST_UNSET_KEY_VAR is not set"],
    "bad_recordings_file.yaml": ["bad_json_line.jsonl:1:", "field 'prompt'", "unknown field"],
}


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["judge", *argv])
    with pytest.raises(SystemExit) as ei:
        main()
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return int(ei.value.code or 0), captured.err


def _config_for(tmp_path: Path, *, prompts: Path | None = None, rubric: Path | None = None) -> Path:
    cfg = {
        "name": "bad",
        "prompts": str(prompts or BAD / "good" / "prompts.jsonl"),
        "rubric": str(rubric or RUBRIC),
        "targets": [{"model": "replay/a", "recordings": str(GOOD_RECORDINGS)}],
        "judges": [{"model": "builtin/judge"}],
    }
    path = tmp_path / "run.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


def _check(code: int, err: str, bad_file: Path, fragments: list[str], db: Path) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and str(bad_file) in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not db.exists()  # nothing written
    assert not list(db.parent.glob(db.name + "*"))


def test_there_are_at_least_25_bad_files() -> None:
    files = [p for p in BAD.rglob("*") if p.is_file() and p.parent.name != "good"]
    assert len(files) >= 25
    assert {p.name for p in (BAD / "prompts").iterdir()} == set(PROMPTS)
    assert {p.name for p in (BAD / "rubrics").iterdir()} == set(RUBRICS)
    assert {p.name for p in (BAD / "configs").iterdir()} == set(CONFIGS)


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_bad_prompt_file(name: str, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bad = BAD / "prompts" / name
    db = tmp_path / "x.duckdb"
    code, err = _run_cli(["run", str(_config_for(tmp_path, prompts=bad)), "--db", str(db), "-q"], capsys, monkeypatch)
    _check(code, err, bad, PROMPTS[name], db)
    # the dataset gate gives the same one-line error
    code, err = _run_cli(["prompts", "check", str(bad)], capsys, monkeypatch)
    _check(code, err, bad, PROMPTS[name], db)


def test_ten_megabyte_line(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "huge.jsonl"
    row = {"id": "big", "prompt": "x" * 10_000_000, "taxonomy": ["hate"], "intent": "safe"}
    bad.write_text(json.dumps(row) + "\n")
    db = tmp_path / "x.duckdb"
    code, err = _run_cli(["run", str(_config_for(tmp_path, prompts=bad)), "--db", str(db), "-q"], capsys, monkeypatch)
    _check(code, err, bad, [":1:", "10,000,", "expected at most 1,000,000 bytes"], db)


@pytest.mark.parametrize("name", sorted(RUBRICS))
def test_bad_rubric(name: str, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bad = BAD / "rubrics" / name
    db = tmp_path / "x.duckdb"
    code, err = _run_cli(["run", str(_config_for(tmp_path, rubric=bad)), "--db", str(db), "-q"], capsys, monkeypatch)
    _check(code, err, bad, RUBRICS[name], db)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_bad_config(name: str, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("JUDGE_TEST_UNSET_KEY_VAR", raising=False)
    bad = BAD / "configs" / name
    db = tmp_path / "x.duckdb"
    code, err = _run_cli(["run", str(bad), "--db", str(db), "-q"], capsys, monkeypatch)
    fragments = CONFIGS[name]
    bad_file = BAD / "prompts" / "bad_json_line.jsonl" if name == "bad_recordings_file.yaml" else bad
    _check(code, err, bad_file, fragments, db)


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_metadata(depth: int, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    good = (BAD / "good" / "prompts.jsonl").read_text()
    nested = "[" * depth + "]" * depth
    bad = tmp_path / "deep.jsonl"
    bad.write_text(
        good
        + f'{{"id": "deep", "prompt": "x", "taxonomy": ["hate"], "intent": "safe", "metadata": {{"a": {nested}}}}}\n'
    )
    db = tmp_path / "x.duckdb"
    code, err = _run_cli(["run", str(_config_for(tmp_path, prompts=bad)), "--db", str(db), "-q"], capsys, monkeypatch)
    line = f":{good.count(chr(10)) + 1}:"
    _check(code, err, bad, [line, "nested", "levels"], db)


def test_a_bad_line_late_in_a_large_file_writes_nothing(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The whole file is validated before the first row is stored (prompts are stored in batches)."""
    rows = [
        json.dumps({"id": f"p{i}", "prompt": f"question {i}", "taxonomy": ["hate"], "intent": "safe"})
        for i in range(5000)
    ]
    rows.append('{"id": "late", "prompt": "x", "taxonomy": ["hate"], "intent": "sometimes"}')
    bad = tmp_path / "late.jsonl"
    bad.write_text("\n".join(rows) + "\n")
    db = tmp_path / "x.duckdb"
    code, err = _run_cli(["run", str(_config_for(tmp_path, prompts=bad)), "--db", str(db), "-q"], capsys, monkeypatch)
    _check(code, err, bad, [":5001:", "field 'intent'"], db)
