"""Pytest plugin: the fault-injecting fake model server (scripts/fake_model_server.py) as fixtures.

Registered by tests/conftest.py (``pytest_plugins = ["fixtures_server"]``). Usage::

    def test_x(fake_server):
        fake_server.set_config({"models": {"judge-a": {"role": "judge"}}})
        ... litellm.acompletion(model="openai/judge-a", api_base=fake_server.url + "/v1", api_key="sk-test")

    from fixtures_server import make_fake_server
    with make_fake_server({"seed": 3, "models": {...}}) as srv:
        ...
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SERVER_PATH = Path(__file__).resolve().parent.parent / "scripts" / "fake_model_server.py"
MODULE_NAME = "fake_model_server"


def load_fake_server_module() -> ModuleType:
    """Import scripts/fake_model_server.py by path (once; cached in sys.modules)."""
    module = sys.modules.get(MODULE_NAME)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(MODULE_NAME, SERVER_PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {SERVER_PATH}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # dataclasses resolve their module through sys.modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(MODULE_NAME, None)
        raise
    return module


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
    """The loaded scripts/fake_model_server.py module (for ServerConfig, judge_key, messages_key, ...)."""
    return load_fake_server_module()


@pytest.fixture
def fake_server() -> Iterator[Any]:
    """A function-scoped fake model server with the default config; reconfigure with ``.set_config``."""
    with make_fake_server() as server:
        yield server
