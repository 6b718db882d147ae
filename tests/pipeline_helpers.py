"""Helpers to build small offline runs against the fake model server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
INTENTS = ("safe", "unsafe", "adversarial")


def write_prompts(folder: Path, n: int = 12) -> Path:
    """n prompts cycling through the intents; unsafe/adversarial carry the fake server's marker."""
    rows = []
    for i in range(n):
        intent = INTENTS[i % 3]
        marker = f"[{intent}] " if intent != "safe" else ""
        row: dict[str, Any] = {
            "id": f"p{i:03d}",
            "prompt": f"{marker}Question number {i} about topic {i % 4}?",
            "taxonomy": ["non_violent_crimes", "fraud"] if i % 2 else ["hate"],
            "intent": intent,
        }
        if intent == "adversarial":
            row["technique"] = "role_play"
        rows.append(row)
    path = folder / "prompts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def write_config(
    folder: Path,
    url: str,
    *,
    targets: list[dict[str, Any]],
    judges: list[dict[str, Any]],
    name: str = "t",
    extra: str = "",
) -> Path:
    import yaml

    cfg = {
        "name": name,
        "prompts": "prompts.jsonl",
        "rubric": str(ROOT / "rubrics" / "default.yaml"),
        "db": "judge.duckdb",
        "targets": targets,
        "judges": judges,
    }
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False) + extra)
    return path


def openai_model(url: str, name: str, **kw: Any) -> dict[str, Any]:
    return {"model": f"openai/{name}", "api_base": url + "/v1", "api_key_env": "FAKE_OPENAI_KEY", "timeout_s": 5, **kw}


def anthropic_model(url: str, name: str, **kw: Any) -> dict[str, Any]:
    return {"model": f"anthropic/{name}", "api_base": url, "api_key_env": "FAKE_ANTHROPIC_KEY", "timeout_s": 5, **kw}


# The keys the fake servers expect in tests (environment variables named by api_key_env).
FAKE_KEYS = {"FAKE_OPENAI_KEY": "sk-test-openai-0000", "FAKE_ANTHROPIC_KEY": "sk-ant-test-0000"}


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on a run database (opened and closed around the query)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def load_script(name: str) -> Any:
    """Import scripts/NAME.py as a module (scripts are not a package)."""
    import importlib.util
    import sys

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def table_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            t: con.execute(f"select count(*) from {t}").fetchall()[0][0]
            for t in ("runs", "prompts", "run_prompts", "responses", "verdicts", "model_calls")
        }
    finally:
        con.close()


def total_requests(stats: dict[str, Any]) -> int:
    return sum(m["requests"] for m in stats["models"].values())


def judge_cli(
    args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real `judge` entry point in a subprocess."""
    import os
    import sys

    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "judge", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


def start_judge_cli(args: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    import os
    import sys

    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "judge", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=ROOT,
    )
