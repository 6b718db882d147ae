"""Provider batch APIs (OpenAI Batch, Anthropic Message Batches): the SDK adapters only.

openai_batch.py / anthropic_batch.py speak the providers' SDKs; answers.py turns one batch answer into
a Generation or a JudgeResult. The orchestration (submit, poll, store, resume) is judge.stages.batch;
a model offers its batch API through `batch_api()` (see `make_api`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from judge.config import ModelSpec
    from judge.providers.batch.base import BatchAPI


def make_api(spec: ModelSpec) -> BatchAPI:
    """The batch adapter for a `batch: true` model (the config allows it for openai/ and anthropic/ only)."""
    if spec.provider == "openai":
        from judge.providers.batch.openai_batch import OpenAIBatchAPI

        return OpenAIBatchAPI(spec)
    if spec.provider == "anthropic":
        from judge.providers.batch.anthropic_batch import AnthropicBatchAPI

        return AnthropicBatchAPI(spec)
    raise ValueError(f"no batch API for {spec.model}")
