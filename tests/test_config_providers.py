"""Model strings are checked at load time: unknown providers (with a suggestion), malformed strings,
keys written into a config, typos of field names: one line naming file, line and field, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from judge.config import load_config
from judge.errors import UserInputError
from judge.litellm_providers import LITELLM_PROVIDERS, LITELLM_VERSION

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "tests" / "bad_inputs" / "good"
CONFIG = f"""name: t
prompts: {GOOD / "prompts.jsonl"}
rubric: {ROOT / "rubrics" / "default.yaml"}
targets:
  - model: replay/x
    recordings: {GOOD / "recordings.jsonl"}
  - model: openai/gpt-4o-mini
    SECOND
judges:
  - model: builtin/judge
"""


def load(tmp_path: Path, model: str, extra: str = "label: two") -> UserInputError:
    text = CONFIG.replace("openai/gpt-4o-mini", model).replace("SECOND", extra)
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(UserInputError) as exc:
        load_config(tmp_path / "c.yaml")
    return exc.value


def test_provider_typo_is_rejected_at_load_time_with_a_suggestion(tmp_path: Path) -> None:
    err = load(tmp_path, "opnai/gpt-fake")
    assert err.line == 7 and err.field == "targets.1.model"
    assert "unknown provider 'opnai'" in err.message and "did you mean openai/gpt-fake?" in err.message
    far = load(tmp_path, "zzqx/gpt")
    assert "unknown provider 'zzqx'" in far.message and "did you mean" not in far.message


@pytest.mark.parametrize("model", ["openai/gpt 4", "openai//gpt", '"openai/gpt\\x07"', "openai/"])
def test_malformed_model_strings_are_rejected(tmp_path: Path, model: str) -> None:
    err = load(tmp_path, model)
    assert err.field == "targets.1.model" and err.line == 7


def test_every_litellm_provider_and_the_builtins_are_accepted(tmp_path: Path) -> None:
    for model in ("hosted_vllm/meta-llama/Llama-3.1-8B", "bedrock/anthropic.claude-v2", "ollama_chat/llama3"):
        (tmp_path / "c.yaml").write_text(CONFIG.replace("openai/gpt-4o-mini", model).replace("SECOND", "label: x"))
        assert load_config(tmp_path / "c.yaml").config.targets[1].model == model


def test_literal_api_key_says_to_use_api_key_env(tmp_path: Path) -> None:
    err = load(tmp_path, "openai/gpt-4o-mini", extra="api_key: sk-live-123")
    assert err.line == 8 and err.field == "targets.1.api_key"
    assert "api_key_env" in err.message and "sk-live" not in err.one_line()


def test_field_typo_gets_the_closest_field(tmp_path: Path) -> None:
    err = load(tmp_path, "openai/gpt-4o-mini", extra="concurency: 3")
    assert err.line == 8 and "did you mean 'concurrency'?" in err.message


def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONFIG.replace("openai/gpt-4o-mini", "opnai/x").replace("SECOND", "label: y"))
    proc = subprocess.run(
        [sys.executable, "-m", "judge", "run", str(tmp_path / "c.yaml")], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "c.yaml:7:" in proc.stderr and "did you mean openai/x" in proc.stderr


def test_generated_provider_list_matches_the_installed_litellm() -> None:
    """judge/litellm_providers.py is generated (scripts/gen_litellm_providers.py); regenerate after an upgrade."""
    code = (
        "import sys; sys.path.insert(0, 'scripts'); import gen_litellm_providers as g; "
        "v, names = g.litellm_providers(); print(v); print(' '.join(names))"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    version, names = proc.stdout.splitlines()[-2:]
    assert version == LITELLM_VERSION, "litellm was upgraded: run scripts/gen_litellm_providers.py"
    assert set(names.split()) == LITELLM_PROVIDERS
