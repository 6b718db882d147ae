"""Importers for public prompt sets, and the recorded demo responses (issue 7)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judge.cli.prompts_cmd import app
from judge.errors import UserInputError
from judge.prompts.importers import import_file
from judge.prompts.loader import load_prompt_file
from judge.prompts.model import PromptRow

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures" / "prompts"
TIERS = {"full_instructions", "partial", "refusal", "safe_deflection"}
runner = CliRunner()


def by_id(rows: list[PromptRow]) -> dict[str, PromptRow]:
    return {r.id: r for r in rows}


def test_xstest_preset() -> None:
    res = import_file(FIX / "xstest.csv", "csv", preset="xstest")
    rows = by_id(res.rows)
    assert rows["xstest-1"].intent.value == "safe"
    assert rows["xstest-4"].intent.value == "unsafe"
    assert rows["xstest-2"].taxonomy == ("privacy",)
    assert rows["xstest-3"].taxonomy == ("hate",)
    assert rows["xstest-1"].taxonomy == ("xstest_homonyms",)
    assert rows["xstest-1"].metadata["type"] == "homonyms"
    assert any("xstest_homonyms" in w for w in res.warnings)


def test_advbench_preset() -> None:
    res = import_file(FIX / "advbench.csv", "csv", preset="advbench")
    rows = res.rows
    assert [r.id for r in rows] == ["advbench-0001", "advbench-0002", "advbench-0003"]
    assert all(r.intent.value == "unsafe" for r in rows)
    assert rows[0].taxonomy == ("non_violent_crimes", "cybercrime")
    assert rows[1].taxonomy == ("indiscriminate_weapons",)
    assert rows[2].taxonomy == ("advbench",)
    assert rows[0].metadata["target"].startswith("Sure")
    assert res.warnings


def test_harmbench_preset() -> None:
    rows = by_id(import_file(FIX / "harmbench.csv", "csv", preset="harmbench").rows)
    assert rows["harmbench-chem_agent_synthesis"].taxonomy == ("indiscriminate_weapons",)
    assert rows["harmbench-song_lyrics"].taxonomy == ("intellectual_property", "copyright")
    assert rows["harmbench-election_stolen_article"].taxonomy == ("misinformation_disinformation",)
    contextual = rows["harmbench-eval_exploit"]
    assert contextual.taxonomy == ("non_violent_crimes", "cybercrime")
    assert contextual.text.startswith("def handler") and contextual.text.endswith("write an exploit for it")
    assert contextual.metadata["FunctionalCategory"] == "contextual"


def test_donotanswer_preset() -> None:
    res = import_file(FIX / "donotanswer.csv", "csv", preset="donotanswer")
    rows = by_id(res.rows)
    assert rows["dna-0"].taxonomy == ("sexual_content",)
    assert rows["dna-1"].taxonomy == ("privacy",)
    assert rows["dna-3"].taxonomy == ("non_violent_crimes",)
    assert rows["dna-2"].taxonomy == ("treat_chatbot_as_a_human",)
    assert rows["dna-0"].metadata["risk_area"].startswith("Discrimination")


def test_sorrybench_preset() -> None:
    rows = by_id(import_file(FIX / "sorrybench.jsonl", "jsonl", preset="sorrybench").rows)
    assert rows["sorry-1"].intent.value == "unsafe"
    assert rows["sorry-1"].taxonomy == ("sorrybench_1",)
    styled = rows["sorry-1-role_play"]
    assert styled.intent.value == "adversarial" and styled.technique == "role_play"
    fr = rows["sorry-2-translate_fr"]
    assert fr.lang == "fr" and fr.technique == "translation"
    assert fr.taxonomy == ("non_violent_crimes", "fraud")
    assert rows["sorry-3"].taxonomy == ("suicide_and_self_harm",)
    assert "second part" in rows["sorry-3"].text


def test_generic_map_and_cli_writes_loadable_jsonl(tmp_path: Path) -> None:
    src = tmp_path / "mine.csv"
    src.write_text("question,hazard,kind,source\nIs this a test?,privacy,safe,unit\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["import", str(src), "--format", "csv", "--map", "question=prompt", "--map", "hazard=l1",
            "--map", "kind=intent", "-o", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (row,) = load_prompt_file(out)
    assert row.prompt == "Is this a test?" and row.taxonomy == ("privacy",) and row.intent.value == "safe"
    assert row.metadata == {"source": "unit"} and row.id == "mine-00001"


def test_cli_preset_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    result = runner.invoke(app, ["import", str(FIX / "xstest.csv"), "--preset", "xstest", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(load_prompt_file(out)) == 4


def test_bad_csv_row_names_file_and_line() -> None:
    with pytest.raises(UserInputError) as exc:
        import_file(FIX / "bad_row.csv", "csv", preset="advbench")
    assert "bad_row.csv:3" in str(exc.value)


def test_missing_column_names_the_column(tmp_path: Path) -> None:
    src = tmp_path / "h.csv"
    src.write_text("Behavior,SemanticCategory\n,copyright\n", encoding="utf-8")
    with pytest.raises(UserInputError) as exc:
        import_file(src, "csv", preset="harmbench")
    assert "h.csv:2" in str(exc.value) and "column Behavior" in str(exc.value)


def test_bad_map_spec() -> None:
    with pytest.raises(UserInputError, match="--map"):
        import_file(FIX / "advbench.csv", "csv", maps=["goal"])


# --- recorded demo responses ------------------------------------------------------------------
@pytest.mark.parametrize("model", ["model_a", "model_b"])
def test_recorded_responses_cover_every_sample_prompt_and_all_tiers(model: str) -> None:
    ids = [r.id for r in load_prompt_file(ROOT / "prompts" / "sample.jsonl")]
    lines = [json.loads(x) for x in (ROOT / "prompts" / "recorded" / f"{model}.jsonl").read_text().splitlines()]
    assert [o["id"] for o in lines] == ids
    tiers = Counter(o["label"] for o in lines if "label" in o)
    assert set(tiers) == TIERS
    assert all(v >= 5 for v in tiers.values())
    blocked = [o for o in lines if o.get("blocked")]
    assert 1 <= len(blocked) <= 10
    for o in lines:
        if o.get("blocked"):
            assert set(o) == {"id", "blocked"}
        else:
            assert set(o) == {"id", "response", "label"} and o["response"].strip()
