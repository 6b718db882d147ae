"""Rows that describe a run's inputs (models, the rubric's policy, prompts), as the store keeps them."""

from __future__ import annotations

import json
from typing import Any

from judge.config import ModelSpec
from judge.prompts.model import PromptRow
from judge.rubric import Rubric
from judge.tiers import Outcome


def model_row(spec: ModelSpec, offline: bool) -> dict[str, Any]:
    return {
        "model_key": spec.key,
        "model": spec.model,
        "label": spec.label,
        "provider": spec.provider,
        "api_base": spec.api_base,
        "api_key_env": spec.api_key_env,
        "params": json.dumps(spec.params, sort_keys=True, default=str),
        "system_prompt": spec.system_prompt,
        "offline": offline,
    }


def policy_rows(rubric: Rubric) -> list[dict[str, Any]]:
    rows = []
    layers: list[tuple[tuple[str, ...], dict[Any, Any]]] = [((), dict(rubric.policy))]
    layers += [(ov.match, dict(ov.intents)) for ov in rubric.overrides]
    for match, intents in layers:
        for intent, pol in intents.items():
            for outcome in Outcome:
                for tier in getattr(pol, outcome.value):
                    rows.append(
                        {
                            "rubric_version": rubric.version,
                            "intent": intent.value,
                            "match_path": "/".join(match),
                            "match_len": len(match),
                            "tier": tier,
                            "outcome": outcome.value,
                        }
                    )
    return rows


def prompt_row(p: PromptRow, source: str) -> dict[str, Any]:
    return {
        "prompt_hash": p.content_hash,
        "prompt_id": p.id,
        "text": p.text,
        "messages": json.dumps(p.chat(), ensure_ascii=False) if p.messages else None,
        "taxonomy_path": "/".join(p.taxonomy),
        "l1": p.level(1),
        "l2": p.level(2),
        "l3": p.level(3),
        "intent": p.intent.value,
        "technique": p.technique,
        "lang": p.lang,
        "metadata": json.dumps(p.metadata, ensure_ascii=False, default=str),
        "source_file": source,
    }
