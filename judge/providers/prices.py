"""Token prices and output limits from litellm's bundled price table, read once, without importing litellm.

litellm ships its model table as a JSON file inside the package; importing litellm to read it costs
seconds, so the file is located through the import system and parsed on the first lookup only.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from functools import cache
from pathlib import Path
from typing import Any

TABLE_FILE = "model_prices_and_context_window_backup.json"
_LONG_CONTEXT = 200_000  # litellm's tier: above this many prompt tokens, *_above_200k_tokens prices apply
_lock = threading.Lock()


@cache
def price_table() -> dict[str, dict[str, Any]]:
    """litellm's model table (name -> info), or {} when litellm is not installed."""
    spec = importlib.util.find_spec("litellm")  # finds the package without executing it
    if spec is None or not spec.submodule_search_locations:
        return {}
    for folder in spec.submodule_search_locations:
        path = Path(folder) / TABLE_FILE
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return {k: v for k, v in data.items() if isinstance(v, dict)}
    return {}


@cache
def model_info(model: str) -> dict[str, Any] | None:
    """The table entry for a config model string (`provider/name`), trying the full string then the name."""
    with _lock:  # the first lookup parses a 3 MB file: once, even from several threads
        table = price_table()
    for name in (model, model.split("/", 1)[-1]):
        info = table.get(name)
        if info is not None:
            return info
    return None


def token_cost(model: str, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """The price of these tokens (model as in the config, e.g. openai/gpt-4o-mini); None if unknown."""
    if prompt_tokens is None and completion_tokens is None:
        return None
    info = model_info(model)
    if info is None:
        return None
    pt, ct = prompt_tokens or 0, completion_tokens or 0
    in_price, out_price = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if in_price is None and out_price is None:
        return None
    if pt > _LONG_CONTEXT:
        in_price = info.get("input_cost_per_token_above_200k_tokens", in_price)
        out_price = info.get("output_cost_per_token_above_200k_tokens", out_price)
    return float(in_price or 0.0) * pt + float(out_price or 0.0) * ct


def max_output_tokens(model: str) -> int | None:
    """The model's output token limit as litellm knows it (what litellm sends Anthropic by default)."""
    info = model_info(model)
    value = info.get("max_output_tokens") if info else None
    return int(value) if isinstance(value, int | float) else None
