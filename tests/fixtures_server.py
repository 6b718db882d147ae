"""Pytest plugin: the fault-injecting fake model server (tests/fake_server/) as fixtures.

Registered by tests/conftest.py (``pytest_plugins = ["fixtures_server"]``). Usage::

    def test_x(fake_server):
        fake_server.set_config({"models": {"judge-a": {"role": "judge"}}})
        ... litellm.acompletion(model="openai/judge-a", api_base=fake_server.url + "/v1", api_key="sk-test")

    from fixtures_server import make_fake_server
    with make_fake_server({"seed": 3, "models": {...}}) as srv:
        ...
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# the user-facing entry point (docs/fake_server.md): runs the server as a process
SERVER_PATH = Path(__file__).resolve().parent.parent / "scripts" / "fake_model_server.py"


def load_fake_server_module() -> ModuleType:
    """The fake_server package (tests/ is on the path: pytest puts it there, scripts insert it)."""
    import fake_server

    return fake_server


@contextmanager
def make_fake_server(config: Mapping[str, Any] | Any | None = None, **kwargs: Any) -> Iterator[Any]:
    """A started ``FakeModelServer`` on a free 127.0.0.1 port, stopped on exit."""
    module = load_fake_server_module()
    server = module.FakeModelServer(config, host="127.0.0.1", port=0, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fake_server_module() -> ModuleType:
    """The fake_server package (for ServerConfig, judge_key, messages_key, ...)."""
    return load_fake_server_module()


@pytest.fixture
def fake_server() -> Iterator[Any]:
    """A function-scoped fake model server with the default config; reconfigure with ``.set_config``."""
    with make_fake_server() as server:
        yield server


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the API-key variables the test configs name (see pipeline_helpers.FAKE_KEYS)."""
    from pipeline_helpers import FAKE_KEYS

    for name, value in FAKE_KEYS.items():
        monkeypatch.setenv(name, value)
