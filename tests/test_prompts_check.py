"""prompts check: taxonomy, coverage, mix, duplicates (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judge.cli.prompts_cmd import app
from judge.errors import UserInputError
from judge.prompts.check import check_rows, exact_key, normalize, parse_target_mix, shingles
from judge.prompts.loader import load_prompt_file
from judge.prompts.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "prompts" / "sample.jsonl"
TAXONOMY = ROOT / "prompts" / "taxonomy.yaml"
FIX = Path(__file__).parent / "fixtures" / "prompts"
HAZARDS = {
    "violent_crimes", "sex_related_crimes", "child_sexual_exploitation", "suicide_and_self_harm",
    "indiscriminate_weapons", "intellectual_property", "defamation", "non_violent_crimes", "hate",
    "privacy", "specialized_advice", "sexual_content",
}  # fmt: skip
runner = CliRunner()


def run_check(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["check", *args, "--taxonomy", str(TAXONOMY)])
    if isinstance(result.exception, UserInputError):
        raise result.exception
    return result.exit_code, result.output


def test_taxonomy_has_the_12_hazards_in_3_groups() -> None:
    tax = load_taxonomy(TAXONOMY)
    assert set(tax.level1()) == HAZARDS
    assert set(tax.groups) == {"physical", "non_physical", "contextual"}
    assert tax.group_of("specialized_advice") == "contextual"
    assert all(hz.topics for hz in tax.hazards.values())
    assert tax.contains(["non_violent_crimes", "fraud", "online_fraud"])
    assert not tax.contains(["non_violent_crimes", "fraud", "nope"])
    assert tax.label(["privacy", "doxxing"]) == "Doxxing"


def test_taxonomy_rejects_unknown_keys(tmp_path: Path) -> None:
    bad = tmp_path / "tax.yaml"
    bad.write_text("name: x\ngroups: {}\nhazards:\n  a: {label: A, colour: red}\n")
    with pytest.raises(UserInputError, match="unknown field"):
        load_taxonomy(bad)


def test_sample_set_passes_with_full_hazard_intent_coverage() -> None:
    rows = load_prompt_file(SAMPLE)
    report = check_rows(rows, load_taxonomy(TAXONOMY))
    assert report.ok, (report.errors, report.duplicates)
    assert set(report.coverage_l1.rows) == HAZARDS
    assert report.coverage_l1.gaps == []
    for hazard in HAZARDS:
        assert all(n > 0 for n in report.coverage_l1.counts[hazard].values())
    assert len(rows) >= 240
    shares = {m.intent: m.share for m in report.mix}
    assert shares["safe"] == pytest.approx(0.2, abs=0.05)
    assert shares["unsafe"] == pytest.approx(0.4, abs=0.05)
    assert shares["adversarial"] == pytest.approx(0.4, abs=0.05)
    assert len(report.languages) > 1
    assert all(r.technique for r in rows if r.intent.value == "adversarial")
    assert any(r.messages for r in rows)


def test_cli_check_sample_exits_0() -> None:
    code, out = run_check(str(SAMPLE))
    assert code == 0, out
    assert "no gaps" in out


def test_planted_duplicates_are_caught() -> None:
    code, out = run_check(str(FIX / "dupes.jsonl"), "--format", "json")
    assert code == 1
    report = json.loads(out)
    pairs = {(d["a"], d["b"], d["kind"]) for d in report["duplicates"]}
    assert ("d-001", "d-002", "exact") in pairs
    assert ("d-003", "d-004", "near") in pairs
    assert len(pairs) == 2
    near = next(d for d in report["duplicates"] if d["kind"] == "near")
    assert 0.7 <= near["similarity"] < 1.0


def test_table_output_lists_duplicate_pairs() -> None:
    code, out = run_check(str(FIX / "dupes.jsonl"))
    assert code == 1
    assert "d-003" in out and "d-004" in out and "near" in out


def test_threshold_option_controls_near_duplicates() -> None:
    _code, out = run_check(str(FIX / "dupes.jsonl"), "--threshold", "0.99", "--format", "json")
    kinds = [d["kind"] for d in json.loads(out)["duplicates"]]
    assert kinds == ["exact"]


def test_unknown_taxonomy_path_is_a_warning_and_an_error_with_strict() -> None:
    """One rule everywhere (runs, check, import): accepted with a warning; --strict makes it an error."""
    code, out = run_check(str(FIX / "unknown_taxonomy.jsonl"), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["errors"] == []
    outside = [w for w in report["warnings"] if w["kind"] == "unknown_taxonomy"]
    assert {w["id"] for w in outside} == {"u-002", "u-003"}
    code, out = run_check(str(FIX / "unknown_taxonomy.jsonl"), "--format", "json", "--strict")
    errors = json.loads(out)["errors"]
    assert code == 1
    assert {e["id"] for e in errors} == {"u-002", "u-003"}
    assert all(e["kind"] == "unknown_taxonomy" for e in errors)


def test_schema_error_is_user_input_error() -> None:
    with pytest.raises(UserInputError) as exc:
        run_check(str(FIX / "bad_schema.jsonl"))
    assert "bad_schema.jsonl:2" in str(exc.value)
    assert "intent" in str(exc.value)


def test_target_mix_parsing() -> None:
    assert parse_target_mix("safe=20,unsafe=40,adversarial=40") == pytest.approx(
        {"safe": 0.2, "unsafe": 0.4, "adversarial": 0.4}
    )
    with pytest.raises(UserInputError):
        parse_target_mix("benign=1")


def test_normalisation_and_shingles() -> None:
    assert normalize("  Hello,   WORLD!! ") == "hello world"
    assert exact_key("E-mail me, please!") == exact_key("email  me please")
    assert shingles("a b c d") == {"a b c", "b c d"}
    assert shingles("hi") == {"hi"}
    assert len(shingles("abcdefg", kind="char")) == 3
