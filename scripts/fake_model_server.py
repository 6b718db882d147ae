#!/usr/bin/env python3
"""Run the fake model server (tests/fake_server, docs/fake_server.md) as a process: `--port 0 --config cfg.json`.

The server is test infrastructure and lives under tests/; this is its user-facing entry point.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_server.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
