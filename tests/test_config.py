from pathlib import Path

import pytest

from judge.config import load_config
from judge.errors import UserInputError

ROOT = Path(__file__).resolve().parents[1]


def _cfg(tmp_path: Path, body: str) -> Path:
    (tmp_path / "p.jsonl").write_text('{"id":"a","prompt":"x","taxonomy":["t"],"intent":"safe"}\n')
    (tmp_path / "rec.jsonl").write_text('{"id":"a","response":"ok"}\n')
    (tmp_path / "rubric.yaml").write_bytes((ROOT / "rubrics" / "default.yaml").read_bytes())
    p = tmp_path / "run.yaml"
    p.write_text(body)
    return p


GOOD = """name: t
prompts: p.jsonl
rubric: rubric.yaml
targets:
  - model: replay/a
    recordings: rec.jsonl
judges:
  - model: builtin/judge
"""


def test_paths_resolve_against_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    loaded = load_config(_cfg(tmp_path, GOOD))
    assert loaded.prompt_paths == (tmp_path / "p.jsonl",)
    assert loaded.rubric_path == tmp_path / "rubric.yaml"
    assert loaded.config.targets[0].recordings == str(tmp_path / "rec.jsonl")
    assert loaded.config.prompts == ("p.jsonl",)  # a single path is accepted as a list


def test_demo_and_example_configs_are_valid() -> None:
    for name in ("demo.yaml", "example-openai.yaml", "nightly.yaml"):
        loaded = load_config(ROOT / "runs" / name)
        assert loaded.config.targets and loaded.config.judges
    assert load_config(ROOT / "runs" / "demo.yaml").db_path == ROOT / "runs" / "judge.duckdb"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GOOD + "colour: red\n", "field 'colour': unknown field"),
        (GOOD.replace("p.jsonl", "missing.jsonl"), "prompt file 'missing.jsonl' not found"),
        (GOOD.replace("model: replay/a\n", "model: replay/a\n    concurrency: -1\n"), "concurrency"),
        (GOOD.replace("builtin/judge", "gpt-4o"), "has no provider"),
        (
            GOOD.replace("model: builtin/judge", "model: openai/gpt-4o\n    api_key_env: sk-abcdef1234567890"),
            "NAME of an environment variable",
        ),
        (
            GOOD.replace("model: builtin/judge", "model: openai/gpt-4o\n    params: {api_key: x}"),
            "looks like a credential",
        ),
        (GOOD.replace("rubric.yaml", "nope.yaml"), "rubric file 'nope.yaml' not found"),
        ("name: t\nprompts: [", "invalid YAML"),
    ],
)
def test_bad_configs(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(UserInputError) as ei:
        load_config(_cfg(tmp_path, body))
    assert expected in str(ei.value)
    assert "run.yaml" in str(ei.value)


def test_nightly_example_gates_are_valid() -> None:
    from judge.nightly.gates import load_gates

    loaded = load_config(ROOT / "runs" / "nightly.yaml")
    gates = load_gates(loaded.config.gates, loaded.path)
    assert gates.max_error_rate == 0.05
    assert loaded.config.judges[0].batch and loaded.config.budget is not None


def test_a_misspelt_key_is_reported_as_unknown_not_as_missing(tmp_path: Path) -> None:
    body = GOOD.replace("name: t", "nme: t")
    with pytest.raises(UserInputError) as ei:
        load_config(_cfg(tmp_path, body))
    assert "field 'nme': unknown field" in str(ei.value) and ":1:" in str(ei.value)
