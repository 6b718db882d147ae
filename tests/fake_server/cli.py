"""`python scripts/fake_model_server.py` (or `python -m fake_server` from tests/): the server as a process."""

from __future__ import annotations

import argparse
import json
from typing import Any

from fake_server.server import FakeModelServer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="A fault-injecting fake model server speaking the OpenAI chat-completions and "
        "Anthropic Messages protocols."
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8011, help="0 picks a free port")
    ap.add_argument("--config", help="JSON config file (see docs/fake_server.md)")
    ap.add_argument("--seed", type=int, help="override the config's seed")
    ap.add_argument("--latency-ms", type=float, help="override the config's latency_ms")
    ap.add_argument("--verbose", "-v", action="store_true", help="log one line per model request")
    args = ap.parse_args(argv)
    data: dict[str, Any] = {}
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            data = json.load(fh)
    if args.seed is not None:
        data["seed"] = args.seed
    if args.latency_ms is not None:
        data["latency_ms"] = args.latency_ms
    server = FakeModelServer(data, host=args.host, port=args.port, verbose=args.verbose).start()
    print(f"fake model server listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
    return 0
