"""A prompt row's content hash is the stored identity of its content: pinned, so a change is deliberate."""

from __future__ import annotations

import hashlib
import json

from judge.prompts.model import PromptRow


def _reference_hash(row: PromptRow) -> str:
    payload = row.model_dump(mode="json", exclude_none=True)
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def test_content_hash_is_pinned() -> None:
    # stored runs are keyed by these hashes: a change here would re-ask every stored prompt
    row = PromptRow.model_validate({"id": "p1", "prompt": "How?", "taxonomy": ["hate"], "intent": "safe"})
    assert row.content_hash == _reference_hash(row) == "1a7ce1b71af9c893021f"
