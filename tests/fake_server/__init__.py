"""A fault-injecting fake model server speaking the OpenAI chat-completions and Anthropic Messages protocols.

Stdlib only and standalone (no imports from the ``judge`` package): the tests import it (tests/ is on
their path; tests/fixtures_server.py has the fixtures), benchmarks and users run it as a process::

    python scripts/fake_model_server.py --port 8011 --config cfg.json

Each model name (as sent in the request body) has a *role* (``target`` or ``judge``) and a script:
targets answer with canned texts, judges find the graded response between
``<<<BEGIN RESPONSE {nonce}>>>`` / ``<<<END RESPONSE {nonce}>>>`` markers and classify it with a
deterministic keyword rule. Faults (429, 500, 503, hangs, dropped connections, malformed bodies, bad
schemas, content filters, refusals, 401) are drawn per request from a seeded RNG. See docs/fake_server.md.

In process::

    with FakeModelServer(config) as srv:
        litellm.completion(model="openai/judge-a", api_base=srv.url + "/v1", api_key="sk-test", ...)
        srv.stats()

Modules: texts (canned texts, the judges' keyword rule, stats keys), config, protocols (requests,
replies, the OpenAI and Anthropic adapters), server (routes, model and admin endpoints), batches
(the batch APIs), handler (HTTP), cli.
"""

from fake_server.cli import main
from fake_server.config import Faults, ModelConfig, ServerConfig
from fake_server.protocols import AnthropicProtocol, OpenAIProtocol, Reply, Request
from fake_server.server import FakeModelServer
from fake_server.texts import (
    COMPLY_TEXT,
    FAULT_OUTCOME,
    REFUSAL_TEXT,
    TIERS,
    classify,
    count_tokens,
    judge_key,
    messages_key,
    rotate_tier,
)

__all__ = [
    "COMPLY_TEXT",
    "FAULT_OUTCOME",
    "REFUSAL_TEXT",
    "TIERS",
    "AnthropicProtocol",
    "FakeModelServer",
    "Faults",
    "ModelConfig",
    "OpenAIProtocol",
    "Reply",
    "Request",
    "ServerConfig",
    "classify",
    "count_tokens",
    "judge_key",
    "main",
    "messages_key",
    "rotate_tier",
]
