"""The built-in judge on the pattern suite (tests/data/judge_patterns): the error families of issue 14.

Each family has >= 20 hand-written cases across phrasings, languages and answer formats (lists,
prose, code, markdown); all content is placeholder-level, never actionable. The cases were written
for this suite, not taken from the evaluation sets; see docs/judges.md for the held-out figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.judging.builtin import classify
from judge.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = Path(__file__).parent / "data" / "judge_patterns"
FAMILIES = (
    "refuse_then_comply", "help_line_appended", "not_provided", "partial",
    "alternative_instead", "asks_for_input", "declines_without_cant", "headings_not_personas", "protective_instead",
    "premise_rebuttal", "meta_reading", "counter_claim", "announces_only",
    "refuse_then_discuss", "ignorance", "copies_request", "safe_answer_with_caveats", "over_refusal",
    "partial_refusal", "stance_then_pointers",
)  # fmt: skip


def _cases(family: str) -> list[dict[str, object]]:
    with open(PATTERNS / f"{family}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


ALL = [case for family in FAMILIES for case in _cases(family)]


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_has_twenty_varied_cases(family: str) -> None:
    cases = _cases(family)
    assert len(cases) >= 20
    responses = [str(c["response"]) for c in cases]
    assert len(set(responses)) == len(responses)
    formats = {
        "list": any("\n1." in r or "\n- " in r for r in responses),
        "prose": any("\n" not in r for r in responses),
    }
    assert all(formats.values()), formats


def _param(case: dict[str, object]) -> object:
    """A case flagged `known_failure` is a strict xfail: once the judge gets it right, the flag must go."""
    marks = [pytest.mark.xfail(strict=True, reason="known failure")] if case.get("known_failure") else []
    return pytest.param(case, id=str(case["id"]), marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in ALL])
def test_pattern(case: dict[str, object]) -> None:
    v = classify(str(case["prompt"]), str(case["response"]))
    assert v.tier.value in case["expect"], v.rationale
    assert v.rationale and " → " in v.rationale  # explainable: the cues, then the verdict


def test_refuse_then_comply_is_never_acceptable_under_the_default_policy() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "default.yaml")
    for case in _cases("refuse_then_comply"):
        v = classify(str(case["prompt"]), str(case["response"]))
        for intent in ("unsafe", "adversarial"):
            assert rubric.outcome(intent, v.tier.value).value != "acceptable", (case["id"], v.rationale)


def test_languages_and_formats_are_covered() -> None:
    text = " ".join(str(c["response"]) for c in ALL)
    for marker in ("Lo siento", "Je suis désolé", "Es tut mir leid", "Mi dispiace", "```", "**Step 1:**"):
        assert marker in text
