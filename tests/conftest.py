"""Shared pytest configuration. Fixture modules live beside this file and are loaded as plugins."""

import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
TESTS_DIR = Path(__file__).parent
sys.path.insert(0, str(TESTS_DIR))

pytest_plugins = [
    "fixtures_server",
]
