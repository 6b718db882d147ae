"""FakeModelServer: routes, the admin endpoints, the model endpoints with their faults, and the stats."""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import ThreadingHTTPServer
from typing import Any, ClassVar

from fake_server.batches import BatchEndpoints, empty_batch_stats
from fake_server.config import ModelConfig, ServerConfig
from fake_server.handler import LoopbackHTTPServer, RequestHandler
from fake_server.protocols import AnthropicProtocol, BadRequest, Call, OpenAIProtocol, Protocol, Reply, Request
from fake_server.texts import (
    COMPLY_TEXT,
    FAULT_ORDER,
    FAULT_OUTCOME,
    OUTCOMES,
    REFUSAL_TEXT,
    UNSAFE_MARKERS,
    classify,
    extract_quoted_response,
    judge_key,
    messages_key,
    rotate_tier,
)


def _empty_model_stats() -> dict[str, Any]:
    return {
        "requests": 0,
        "outcomes": dict.fromkeys(OUTCOMES, 0),
        "completed": {},
        "unquoted": 0,  # judge requests without BEGIN/END RESPONSE markers
        "client_gone": 0,  # requests abandoned because the client disconnected during latency or a hang
        "answer_shapes": {"tool_call": 0, "json_format": 0, "plain": 0},  # how successful answers were shaped
    }


# A route: (HTTP method, path regex with optional named groups, FakeModelServer method name).
# To add an endpoint (e.g. the OpenAI Batch API), append a row and write ``def _name(self, req) -> Reply``.
Route = tuple[str, str, str]


class FakeModelServer(BatchEndpoints):
    ROUTES: ClassVar[list[Route]] = [
        ("POST", r"/(?:v1/)?chat/completions", "_openai_chat"),
        ("POST", r"/(?:v1/)?messages", "_anthropic_messages"),
        ("GET", r"/v1/models|/models", "_list_models"),
        ("GET", r"/_stats", "_get_stats"),
        ("POST", r"/_reset", "_post_reset"),
        ("GET", r"/_config", "_get_config"),
        ("POST", r"/_config", "_post_config"),
        ("GET", r"/(?:_health|health)", "_health"),
        # OpenAI Files + Batch API (loopback): upload JSONL, create, poll, cancel, download results
        ("POST", r"/(?:v1/)?files", "_openai_file_upload"),
        ("GET", r"/(?:v1/)?files/(?P<file_id>[^/]+)/content", "_openai_file_content"),
        ("POST", r"/(?:v1/)?batches", "_openai_batch_create"),
        ("GET", r"/(?:v1/)?batches/(?P<batch_id>[^/]+)", "_openai_batch_get"),
        ("POST", r"/(?:v1/)?batches/(?P<batch_id>[^/]+)/cancel", "_openai_batch_cancel"),
        # Anthropic Message Batches (loopback)
        ("POST", r"/(?:v1/)?messages/batches", "_anthropic_batch_create"),
        ("GET", r"/(?:v1/)?messages/batches/(?P<batch_id>[^/]+)", "_anthropic_batch_get"),
        ("POST", r"/(?:v1/)?messages/batches/(?P<batch_id>[^/]+)/cancel", "_anthropic_batch_cancel"),
        ("GET", r"/(?:v1/)?messages/batches/(?P<batch_id>[^/]+)/results", "_anthropic_batch_results"),
    ]

    def __init__(
        self,
        config: ServerConfig | Mapping[str, Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self._config = ServerConfig.coerce(config)
        self._host = host
        self._port = port
        self.verbose = verbose
        self._lock = threading.Lock()
        self._stats: dict[str, dict[str, Any]] = {}
        self._batch_stats: dict[str, dict[str, int]] = {}
        self._files: dict[str, bytes] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._batch_lock = threading.Lock()  # one batch is processed once, even with concurrent polls
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._compiled = [(m, re.compile(p), name) for m, p, name in self.ROUTES]

    # ---- public API ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def config(self) -> ServerConfig:
        with self._lock:
            return self._config

    def set_config(self, config: ServerConfig | Mapping[str, Any]) -> None:
        new = ServerConfig.coerce(config)
        with self._lock:
            self._config = new

    def stats(self) -> dict[str, Any]:
        with self._lock:
            models = json.loads(json.dumps(self._stats))
            any_batch = bool(self._batch_stats)
        out: dict[str, Any] = {"total_requests": sum(m["requests"] for m in models.values()), "models": models}
        if any_batch:  # only once a batch endpoint was used (the online-only shape stays as it was)
            out["batches"] = self.batch_stats()
        return out

    def batch_stats(self) -> dict[str, dict[str, int]]:
        """Per provider: batches submitted, items, status polls, batches run, cancelled, result downloads."""
        with self._lock:
            batches = json.loads(json.dumps(self._batch_stats))
        return {p: {**empty_batch_stats(), **batches.get(p, {})} for p in ("openai", "anthropic")}

    def model_stats(self, model: str) -> dict[str, Any]:
        return self.stats()["models"].get(model) or _empty_model_stats()

    def reset(self) -> None:
        with self._lock:
            self._stats.clear()
            self._batch_stats.clear()

    def start(self) -> FakeModelServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = LoopbackHTTPServer((self._host, self._port), RequestHandler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-model-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes hanging handlers
        httpd.shutdown()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:  # close idle keep-alive connections so their threads end
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- dispatch ----------------------------------------------------------------------------------

    def dispatch(self, req: Request) -> Reply:
        allowed = False
        for method, pattern, name in self._compiled:
            m = pattern.fullmatch(req.path)
            if not m:
                continue
            if method != req.method:
                allowed = True
                continue
            req.params = m.groupdict()
            return getattr(self, name)(req)
        if allowed:
            return Reply(
                405,
                {"error": {"message": f"method {req.method} not allowed", "type": "invalid_request_error"}},
            )
        return Reply(404, {"error": {"message": f"no route for {req.path}", "type": "invalid_request_error"}})

    def _log(self, msg: str) -> None:
        if self.verbose:
            print(f"[fake-model-server] {msg}", file=sys.stderr, flush=True)

    # ---- admin endpoints -------------------------------------------------------------------------

    def _get_stats(self, req: Request) -> Reply:
        return Reply(200, self.stats())

    def _post_reset(self, req: Request) -> Reply:
        self.reset()
        return Reply(200, {"ok": True})

    def _get_config(self, req: Request) -> Reply:
        return Reply(200, self.config.to_dict())

    def _post_config(self, req: Request) -> Reply:
        try:
            self.set_config(req.json())
        except (ValueError, TypeError) as e:
            return Reply(400, {"error": {"message": f"bad config: {e}", "type": "invalid_request_error"}})
        return Reply(200, {"ok": True})

    def _health(self, req: Request) -> Reply:
        return Reply(200, {"ok": True})

    def _list_models(self, req: Request) -> Reply:
        names = sorted(self.config.models)
        return Reply(200, {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "fake"} for n in names]})

    # ---- model endpoints -------------------------------------------------------------------------

    def _openai_chat(self, req: Request) -> Reply:
        return self._chat(req, OpenAIProtocol())

    def _anthropic_messages(self, req: Request) -> Reply:
        return self._chat(req, AnthropicProtocol())

    def _record(self, model: str, outcome: str, *, new_request: bool = False) -> int:
        with self._lock:
            st = self._stats.setdefault(model, _empty_model_stats())
            if new_request:
                st["requests"] += 1
            if outcome:
                st["outcomes"][outcome] += 1
            return int(st["requests"])

    def _bump(self, model: str, counter: str) -> None:
        with self._lock:
            self._stats.setdefault(model, _empty_model_stats())[counter] += 1

    def _completed(self, model: str, key: str, shape: str) -> Callable[[int], None]:
        def count(delta: int) -> None:
            with self._lock:
                st = self._stats.setdefault(model, _empty_model_stats())
                st["completed"][key] = st["completed"].get(key, 0) + delta
                st["answer_shapes"][shape] += delta
                if st["completed"][key] <= 0:
                    del st["completed"][key]

        return count

    def _chat(self, req: Request, proto: Protocol) -> Reply:
        body: Any = None
        try:
            body = req.json()
            if not isinstance(body, dict):
                raise BadRequest("body must be a JSON object")
            call = proto.parse(body)
        except (ValueError, BadRequest, AttributeError, TypeError) as e:
            model = body.get("model") if isinstance(body, dict) else None
            self._record(str(model or "<unparsed>"), "bad_request", new_request=True)
            return proto.error(400, "bad_request", f"invalid request: {e}")

        config = self.config
        mcfg = config.for_model(call.model)
        n = self._record(call.model, "", new_request=True)
        rng = random.Random(f"{config.seed}|{call.model}|{n}")
        ident = hashlib.sha256(f"{config.seed}|{call.model}|{n}".encode()).hexdigest()[:24]

        latency_ms = mcfg.latency_ms if mcfg.latency_ms is not None else config.latency_ms
        if latency_ms > 0 and req.client_gone(latency_ms / 1000.0):
            self._bump(call.model, "client_gone")
            return Reply(drop=True)

        if mcfg.require_key is not None and not proto.key_ok(req.headers, mcfg.require_key):
            self._record(call.model, "auth")
            self._log(f"{proto.name} model={call.model} outcome=auth (missing or wrong key)")
            return self._auth_error(proto)

        fault = self._draw_fault(rng, mcfg)
        outcome = FAULT_OUTCOME[fault] if fault else "ok"
        self._record(call.model, outcome)
        self._log(f"{proto.name} model={call.model} n={n} outcome={outcome}")
        f = mcfg.faults

        if fault == "auth_error":
            return self._auth_error(proto)
        if fault == "rate_limit":
            reply = proto.error(
                429,
                "rate_limit",
                f"Rate limit reached for {call.model}. Please try again in {f.retry_after_s:g}s.",
            )
            reply.headers["Retry-After"] = f"{f.retry_after_s:g}"
            reply.headers["retry-after-ms"] = str(round(f.retry_after_s * 1000))
            return reply
        if fault == "server_error":
            return proto.error(500, "server_error", "The server had an error while processing your request.")
        if fault == "unavailable":
            return proto.error(503, "unavailable", "The server is overloaded or not ready yet.")
        if fault == "overloaded":
            if proto.name == "anthropic":
                return proto.error(529, "overloaded", "Overloaded")
            return proto.error(503, "overloaded", "The engine is currently overloaded, please try again later.")
        if fault == "drop":
            return Reply(drop=True)
        if fault == "malformed":
            return Reply(200, b'{"id": "broken", "choices": [{"message": {"content": "unterminated')
        if fault in ("content_filter", "refusal_stop"):
            return proto.refusal(call, ident, content_filter=fault == "content_filter")
        if fault == "hang" and req.client_gone(f.hang_s):
            self._bump(call.model, "client_gone")
            return Reply(drop=True)

        if mcfg.role == "judge":
            reply, key = self._judge_answer(call, mcfg, proto, ident, rng, bad_schema=fault == "bad_schema")
        else:
            reply = proto.answer(call, ident, self._target_text(call, mcfg), None)
            key = messages_key(call.messages)
        if fault is None or fault == "hang":
            reply.count = self._completed(call.model, key, call.shape)
        reply.headers["x-fake-request-key"] = key
        return reply

    @staticmethod
    def _draw_fault(rng: random.Random, mcfg: ModelConfig) -> str | None:
        u = rng.random()
        acc = 0.0
        for name in FAULT_ORDER:
            if name == "bad_schema" and mcfg.role != "judge":
                continue
            acc += getattr(mcfg.faults, name)
            if u < acc:
                return name
        return None

    @staticmethod
    def _auth_error(proto: Protocol) -> Reply:
        if proto.name == "anthropic":
            return proto.error(401, "auth", "invalid x-api-key")
        return proto.error(
            401,
            "auth",
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
        )

    @staticmethod
    def _target_text(call: Call, mcfg: ModelConfig) -> str:
        user = next((t for r, t in reversed(call.messages) if r == "user"), "")
        if mcfg.responder == "refuse_all":
            return REFUSAL_TEXT
        if mcfg.responder == "comply_all":
            return COMPLY_TEXT
        if mcfg.responder == "by_intent":
            return REFUSAL_TEXT if any(mk in user for mk in UNSAFE_MARKERS) else COMPLY_TEXT
        for needle, answer in mcfg.answers.items():  # "table"
            if needle in user:
                return answer
        return mcfg.default_answer

    def _judge_answer(
        self,
        call: Call,
        mcfg: ModelConfig,
        proto: Protocol,
        ident: str,
        rng: random.Random,
        *,
        bad_schema: bool,
    ) -> tuple[Reply, str]:
        prompt = "\n".join(t for _, t in call.messages)
        quoted = extract_quoted_response(prompt)
        if quoted is None:  # fall back to the last user message, and count it so tests can notice
            self._bump(call.model, "unquoted")
            quoted = next((t for r, t in reversed(call.messages) if r == "user"), "")
        tier, reason = classify(quoted)
        disagree = next((s for s in mcfg.disagree_on if s in quoted), None)
        if disagree is not None:
            tier = rotate_tier(tier)
            reason += f"; scripted to disagree on {disagree!r}"
        verdict: dict[str, Any] = {"rationale": f"Keyword rule: {reason}.", "tier": tier}
        if bad_schema:
            if rng.random() < 0.5:
                verdict["tier"] = "maybe"
            else:
                del verdict["tier"]
        content = None if call.tool_name else json.dumps(verdict)
        return proto.answer(call, ident, content, verdict), judge_key(quoted, call.model)
