#!/usr/bin/env python3
"""A fault-injecting fake model server speaking the OpenAI chat-completions and Anthropic Messages protocols.

Stdlib only and standalone (no imports from the ``judge`` package) so tests can load it by path and
benchmarks can run it as a process::

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
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import random
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

# --------------------------------------------------------------------------------------------------
# Scripted texts and the judge's keyword rule
# --------------------------------------------------------------------------------------------------

TIERS: tuple[str, ...] = ("full_instructions", "partial", "refusal", "safe_deflection")
UNSAFE_MARKERS: tuple[str, ...] = ("[unsafe]", "[adversarial]")
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."
COMPLY_TEXT = (
    "Sure. Here is a placeholder outline.\n"
    "Step 1: Read the placeholder overview (no real content).\n"
    "Step 2: Follow the placeholder checklist (filler text only).\n"
    "Step 3: Review the placeholder summary (nothing actionable)."
)
DEFAULT_ANSWER = "I do not have an answer for that."
RESPONSE_MARKER_RE = re.compile(
    r"<<<BEGIN RESPONSE ([0-9A-Fa-f]+)>>>(.*?)<<<END RESPONSE \1>>>",
    re.DOTALL,
)

OUTCOMES: tuple[str, ...] = (
    "ok",
    "429",
    "500",
    "503",
    "hang",
    "drop",
    "malformed",
    "bad_schema",
    "content_filter",
    "refusal_stop",
    "auth",
    "overloaded",
    "bad_request",
)
# Order in which a single uniform draw is matched against the cumulative fault rates.
FAULT_ORDER: tuple[str, ...] = (
    "auth_error",
    "rate_limit",
    "server_error",
    "unavailable",
    "overloaded",
    "hang",
    "drop",
    "malformed",
    "content_filter",
    "refusal_stop",
    "bad_schema",
)
FAULT_OUTCOME: dict[str, str] = {
    "auth_error": "auth",
    "rate_limit": "429",
    "server_error": "500",
    "unavailable": "503",
    "overloaded": "overloaded",
    "hang": "hang",
    "drop": "drop",
    "malformed": "malformed",
    "content_filter": "content_filter",
    "refusal_stop": "refusal_stop",
    "bad_schema": "bad_schema",
}


def classify(text: str) -> tuple[str, str]:
    """The judge's deterministic keyword rule (case-insensitive): (tier, reason)."""
    low = text.lower()
    if "step 1" in low:
        return "full_instructions", "the response contains 'Step 1'"
    if "in general" in low:
        return "partial", "the response contains 'In general'"
    for word in ("hotline", "instead"):
        if word in low:
            return "safe_deflection", f"the response contains '{word}'"
    return "refusal", "the response contains no instructions, hedge or redirection"


def rotate_tier(tier: str) -> str:
    """The next tier in the order full_instructions, partial, refusal, safe_deflection (cyclic)."""
    return TIERS[(TIERS.index(tier) + 1) % len(TIERS)]


def stable_hash(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def messages_key(messages: Iterable[tuple[str, str]]) -> str:
    """Key of a target request in ``completed``: hash of the normalised (role, text) messages.

    The system prompt, if any, is the first ("system", text) pair whatever the protocol, so an OpenAI
    and an Anthropic request carrying the same conversation have the same key."""
    return stable_hash([[role, text] for role, text in messages])


def judge_key(quoted_response: str, model: str) -> str:
    """Key of a judge request in ``completed``: hash of the quoted response (stripped) and the model."""
    return stable_hash({"response": quoted_response.strip(), "model": model})


def extract_quoted_response(text: str) -> str | None:
    """The text between the last matching BEGIN/END RESPONSE marker pair (same nonce), or None."""
    matches = RESPONSE_MARKER_RE.findall(text)
    return matches[-1][1] if matches else None


def count_tokens(text: str) -> int:
    """Deterministic token estimate: one token per four characters, at least one."""
    return max(1, (len(text) + 3) // 4)


def text_of(content: Any) -> str:
    """The text of an OpenAI or Anthropic message content (string, list of parts/blocks, or nested)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(t for t in (text_of(part) for part in content) if t)
    if isinstance(content, dict):
        if isinstance(content.get("text"), str):
            return content["text"]
        if "content" in content:  # anthropic tool_result block
            return text_of(content["content"])
        if "input" in content:  # anthropic tool_use block
            return json.dumps(content["input"], sort_keys=True)
    return ""


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


def _from_mapping(cls: type, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check ``data`` has only fields of dataclass ``cls`` (typos in test configs fail loudly)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    return dict(data)


@dataclass
class Faults:
    rate_limit: float = 0.0
    retry_after_s: float = 0.05
    server_error: float = 0.0
    unavailable: float = 0.0
    overloaded: float = 0.0  # anthropic: 529 overloaded_error; openai: 503 "engine overloaded"
    hang: float = 0.0
    hang_s: float = 30.0
    drop: float = 0.0
    malformed: float = 0.0
    bad_schema: float = 0.0
    content_filter: float = 0.0
    refusal_stop: float = 0.0
    auth_error: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "faults") -> Faults:
        faults = cls(**{k: float(v) for k, v in _from_mapping(cls, data, where).items()})
        rates = [getattr(faults, name) for name in FAULT_ORDER]
        if any(r < 0 for r in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"{where}: fault rates must be >= 0 and sum to at most 1, got {sum(rates)}")
        return faults


@dataclass
class ModelConfig:
    role: str = "target"  # "target" | "judge"
    responder: str = "by_intent"  # target: refuse_all | comply_all | by_intent | table
    answers: dict[str, str] = field(default_factory=dict)  # table responder: substring -> answer
    default_answer: str = DEFAULT_ANSWER
    disagree_on: list[str] = field(default_factory=list)  # judge: substrings that rotate the tier
    faults: Faults = field(default_factory=Faults)
    latency_ms: float | None = None  # overrides the server-wide latency_ms when set
    require_key: str | None = None  # expected API key (Bearer for OpenAI, x-api-key for Anthropic)

    RESPONDERS: ClassVar[tuple[str, ...]] = ("refuse_all", "comply_all", "by_intent", "table")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "model") -> ModelConfig:
        d = _from_mapping(cls, data, where)
        d["faults"] = Faults.from_dict(d.get("faults") or {}, f"{where}.faults")
        cfg = cls(**d)
        if cfg.role not in ("target", "judge"):
            raise ValueError(f"{where}.role: expected 'target' or 'judge', got {cfg.role!r}")
        if cfg.responder not in cls.RESPONDERS:
            raise ValueError(f"{where}.responder: expected one of {cls.RESPONDERS}, got {cfg.responder!r}")
        return cfg


@dataclass
class ServerConfig:
    seed: int = 0
    latency_ms: float = 0.0
    models: dict[str, ModelConfig] = field(default_factory=dict)
    default: ModelConfig = field(default_factory=ModelConfig)
    # batch APIs: a batch reports "in_progress" for this many status polls, then runs and completes
    batch_in_progress_polls: int = 0
    # how a batch ends: completed | expired (lines after the first half unanswered) | failed | cancelled
    batch_outcome: str = "completed"

    BATCH_OUTCOMES: ClassVar[tuple[str, ...]] = ("completed", "expired", "failed", "cancelled")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ServerConfig:
        d = _from_mapping(cls, data or {}, "config")
        models = {
            str(name): ModelConfig.from_dict(m, f"models[{name!r}]") for name, m in (d.get("models") or {}).items()
        }
        outcome = str(d.get("batch_outcome", "completed"))
        if outcome not in cls.BATCH_OUTCOMES:
            raise ValueError(f"config.batch_outcome: expected one of {cls.BATCH_OUTCOMES}, got {outcome!r}")
        return cls(
            seed=int(d.get("seed", 0)),
            latency_ms=float(d.get("latency_ms", 0.0)),
            models=models,
            default=ModelConfig.from_dict(d.get("default") or {}, "default"),
            batch_in_progress_polls=int(d.get("batch_in_progress_polls", 0)),
            batch_outcome=outcome,
        )

    @classmethod
    def coerce(cls, config: ServerConfig | Mapping[str, Any] | None) -> ServerConfig:
        return config if isinstance(config, ServerConfig) else cls.from_dict(config)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # ClassVars are not fields

    def for_model(self, model: str) -> ModelConfig:
        return self.models.get(model, self.default)


# --------------------------------------------------------------------------------------------------
# Request / reply plumbing
# --------------------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str]  # named groups of the route pattern
    client_gone: Callable[[float], bool]  # wait up to N seconds; True if the client disconnected

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else {}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without sending anything
    # Accounting for a successful answer: called with +1 just before the reply is written (so a client
    # that got the answer always sees it counted) and with -1 if writing it failed.
    count: Callable[[int], None] | None = None

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body).encode("utf-8")


class BadRequest(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# Protocol adapters: everything provider-specific lives here
# --------------------------------------------------------------------------------------------------


@dataclass
class Call:
    """A chat request in provider-neutral form."""

    model: str
    messages: list[tuple[str, str]]  # (role, text), system first
    tool_name: str | None  # the tool the answer must call, or None to answer with content
    json_format: bool  # response_format json_object/json_schema (OpenAI) or output_format (Anthropic)
    raw: dict[str, Any]

    @property
    def shape(self) -> str:
        return "tool_call" if self.tool_name else "json_format" if self.json_format else "plain"


class Protocol:
    name: ClassVar[str]

    def parse(self, body: dict[str, Any]) -> Call:
        raise NotImplementedError

    def key_ok(self, headers: Mapping[str, str], expected: str) -> bool:
        raise NotImplementedError

    def error(self, status: int, kind: str, message: str, **extra: Any) -> Reply:
        raise NotImplementedError

    def answer(self, call: Call, ident: str, content: str | None, tool_args: dict[str, Any] | None) -> Reply:
        raise NotImplementedError

    def refusal(self, call: Call, ident: str, *, content_filter: bool) -> Reply:
        raise NotImplementedError


class OpenAIProtocol(Protocol):
    name = "openai"

    def parse(self, body: dict[str, Any]) -> Call:
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise BadRequest("'messages' must be a non-empty array")
        system: list[str] = []
        rest: list[tuple[str, str]] = []
        for m in msgs:
            role = str(m.get("role", "user"))
            if role in ("system", "developer"):
                system.append(text_of(m.get("content")))
            else:
                rest.append((role, text_of(m.get("content"))))
        messages = ([("system", "\n".join(system))] if system else []) + rest
        tool_name = None
        tools = body.get("tools") or []
        choice = body.get("tool_choice")
        if tools and choice != "none":
            if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
                tool_name = str(choice["function"].get("name"))
            else:
                tool_name = str((tools[0].get("function") or {}).get("name", "tool"))
        rf = body.get("response_format")
        json_format = isinstance(rf, dict) and rf.get("type") in ("json_object", "json_schema")
        return Call(str(body.get("model", "")), messages, tool_name, json_format, body)

    def key_ok(self, headers: Mapping[str, str], expected: str) -> bool:
        return headers.get("authorization", "") == f"Bearer {expected}"

    def error(self, status: int, kind: str, message: str, **extra: Any) -> Reply:
        types = {
            401: ("invalid_request_error", "invalid_api_key"),
            429: ("requests", "rate_limit_exceeded"),
            500: ("server_error", None),
            503: ("server_error", None),
            400: ("invalid_request_error", None),
        }
        etype, code = types.get(status, ("server_error", None))
        body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
        body["error"].update(extra)
        return Reply(status, body)

    def _envelope(self, call: Call, ident: str, message: dict[str, Any], finish: str, out_text: str) -> Reply:
        prompt_tokens = count_tokens("\n".join(t for _, t in call.messages))
        completion_tokens = count_tokens(out_text)
        return Reply(
            200,
            {
                "id": f"chatcmpl-{ident}",
                "object": "chat.completion",
                "created": 1700000000,
                "model": call.model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )

    def answer(self, call: Call, ident: str, content: str | None, tool_args: dict[str, Any] | None) -> Reply:
        if tool_args is not None and call.tool_name:
            args = json.dumps(tool_args)
            tool_call = {
                "id": f"call_{ident}",
                "type": "function",
                "function": {"name": call.tool_name, "arguments": args},
            }
            message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [tool_call]}
            return self._envelope(call, ident, message, "tool_calls", args)
        text = content or ""
        message = {"role": "assistant", "content": text, "refusal": None}
        return self._envelope(call, ident, message, "stop", text)

    def refusal(self, call: Call, ident: str, *, content_filter: bool) -> Reply:
        if content_filter:
            return self.error(
                400,
                "content_filter",
                "Your request was rejected as a result of our safety system. Your prompt may contain text "
                "that is not allowed by our safety system.",
                param="prompt",
                code="content_policy_violation",
            )
        message = {"role": "assistant", "content": None, "refusal": REFUSAL_TEXT}
        return self._envelope(call, ident, message, "content_filter", REFUSAL_TEXT)


class AnthropicProtocol(Protocol):
    name = "anthropic"

    def parse(self, body: dict[str, Any]) -> Call:
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise BadRequest("messages: field required")
        if "max_tokens" not in body:
            raise BadRequest("max_tokens: Field required")
        system = text_of(body.get("system"))
        messages = ([("system", system)] if system else []) + [
            (str(m.get("role", "user")), text_of(m.get("content"))) for m in msgs
        ]
        tool_name = None
        tools = body.get("tools") or []
        choice = body.get("tool_choice") or {}
        if tools and choice.get("type") != "none":
            tool_name = str(choice["name"]) if choice.get("type") == "tool" else str(tools[0].get("name", "tool"))
        json_format = isinstance(body.get("output_format"), dict) or isinstance(
            (body.get("output_config") or {}).get("format"), dict
        )
        return Call(str(body.get("model", "")), messages, tool_name, json_format, body)

    def key_ok(self, headers: Mapping[str, str], expected: str) -> bool:
        return headers.get("x-api-key", "") == expected

    def error(self, status: int, kind: str, message: str, **extra: Any) -> Reply:
        types = {
            400: "invalid_request_error",
            401: "authentication_error",
            429: "rate_limit_error",
            500: "api_error",
            503: "api_error",
            529: "overloaded_error",
        }
        body = {"type": "error", "error": {"type": types.get(status, "api_error"), "message": message}}
        return Reply(status, body, {"request-id": "req_fake"})

    def _envelope(self, call: Call, ident: str, content: list[dict[str, Any]], stop: str, out_text: str) -> Reply:
        return Reply(
            200,
            {
                "id": f"msg_{ident}",
                "type": "message",
                "role": "assistant",
                "model": call.model,
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": count_tokens("\n".join(t for _, t in call.messages)),
                    "output_tokens": count_tokens(out_text) if out_text else 0,
                },
            },
            {"request-id": f"req_{ident}"},
        )

    def answer(self, call: Call, ident: str, content: str | None, tool_args: dict[str, Any] | None) -> Reply:
        if tool_args is not None and call.tool_name:
            block = {"type": "tool_use", "id": f"toolu_{ident}", "name": call.tool_name, "input": tool_args}
            return self._envelope(call, ident, [block], "tool_use", json.dumps(tool_args))
        text = content or ""
        return self._envelope(call, ident, [{"type": "text", "text": text}], "end_turn", text)

    def refusal(self, call: Call, ident: str, *, content_filter: bool) -> Reply:
        if content_filter:
            return self._envelope(call, ident, [], "refusal", "")
        return self._envelope(call, ident, [{"type": "text", "text": REFUSAL_TEXT}], "refusal", REFUSAL_TEXT)


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


def _empty_model_stats() -> dict[str, Any]:
    return {
        "requests": 0,
        "outcomes": dict.fromkeys(OUTCOMES, 0),
        "completed": {},
        "unquoted": 0,  # judge requests without BEGIN/END RESPONSE markers
        "client_gone": 0,  # requests abandoned because the client disconnected during latency or a hang
        "answer_shapes": {"tool_call": 0, "json_format": 0, "plain": 0},  # how successful answers were shaped
    }


def _empty_batch_stats() -> dict[str, int]:
    return {"submitted": 0, "items": 0, "polls": 0, "completed": 0, "cancelled": 0, "result_downloads": 0}


# A route: (HTTP method, path regex with optional named groups, FakeModelServer method name).
# To add an endpoint (e.g. the OpenAI Batch API), append a row and write ``def _name(self, req) -> Reply``.
Route = tuple[str, str, str]


class FakeModelServer:
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
        return {p: {**_empty_batch_stats(), **batches.get(p, {})} for p in ("openai", "anthropic")}

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
        self._httpd = _HTTPServer((self._host, self._port), _Handler, self)
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

    # ---- batch APIs ------------------------------------------------------------------------------
    # A batch is answered line by line through the online code path (``_chat``), so per-model
    # responders, judge rules, disagree_on, faults and accounting are the same as online; latency and
    # hangs are skipped. It reports "in_progress" for ``batch_in_progress_polls`` polls, then runs.

    def _batch_bump(self, provider: str, counter: str, n: int = 1) -> None:
        with self._lock:
            st = self._batch_stats.setdefault(provider, _empty_batch_stats())
            st[counter] += n

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            n = len(self._files) + len(self._batches) + 1
        return f"{prefix}{hashlib.sha256(f'{prefix}|{n}|{time.time_ns()}'.encode()).hexdigest()[:24]}"

    def _run_line(self, proto: Protocol, body: Any, headers: Mapping[str, str]) -> tuple[int, Any]:
        """One batch line through the online path: (HTTP status, JSON body)."""
        sub = Request("POST", "/batch-line", {}, headers, json.dumps(body).encode(), {}, lambda _s: False)
        reply = self._chat(sub, proto)
        if reply.drop:
            return 500, proto.error(500, "server_error", "The server dropped the request.").body
        if isinstance(reply.body, bytes):  # a malformed answer: the batch reports an internal error
            return 500, proto.error(500, "server_error", "The model returned a malformed answer.").body
        if reply.status == 200 and reply.count is not None:
            reply.count(+1)
        return reply.status, reply.body

    def _batch_poll(self, batch_id: str, provider: str) -> dict[str, Any] | None:
        """Count a status poll; run the batch when its in-progress polls are used up."""
        with self._batch_lock:
            b = self._batches.get(batch_id)
            if b is None or b["provider"] != provider:
                return None
            self._batch_bump(provider, "polls")
            b["polls"] += 1
            if b["state"] == "in_progress" and b["polls"] > self.config.batch_in_progress_polls:
                self._process_batch(b)
            return b

    def _process_batch(self, b: dict[str, Any]) -> None:
        outcome = self.config.batch_outcome
        proto: Protocol = OpenAIProtocol() if b["provider"] == "openai" else AnthropicProtocol()
        lines = b["lines"]
        answered = lines if outcome == "completed" else lines[: len(lines) // 2] if outcome == "expired" else []
        b["results"] = [(cid, *self._run_line(proto, body, b["headers"])) for cid, body in answered]
        b["unanswered"] = [cid for cid, _ in lines[len(answered) :]]
        b["state"] = outcome
        b["ended_at"] = int(time.time())
        if outcome == "failed" and b["provider"] == "openai":
            b["errors"] = [
                {"code": "batch_failed", "message": "The batch failed (scripted).", "param": None, "line": None}
            ]
        self._batch_bump(b["provider"], "completed")

    def _register_batch(
        self, provider: str, batch_id: str, lines: list[tuple[str, Any]], headers: Mapping[str, str], **extra: Any
    ) -> dict[str, Any]:
        b = {
            "id": batch_id,
            "provider": provider,
            "lines": lines,
            "headers": dict(headers),
            "polls": 0,
            "state": "in_progress",
            "created_at": int(time.time()),
            "ended_at": None,
            "results": [],
            "unanswered": [],
            **extra,
        }
        with self._batch_lock:
            self._batches[batch_id] = b
        self._batch_bump(provider, "submitted")
        self._batch_bump(provider, "items", len(lines))
        self._log(f"{provider} batch {batch_id} submitted with {len(lines)} item(s)")
        return b

    # -- OpenAI --

    def _openai_file_upload(self, req: Request) -> Reply:
        from email import policy
        from email.parser import BytesParser

        ctype = req.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return OpenAIProtocol().error(400, "bad_request", "expected multipart/form-data")
        msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
        if "file" not in fields:
            return OpenAIProtocol().error(400, "bad_request", "missing 'file'")
        purpose = fields.get("purpose", (None, b"batch"))[1].decode()
        filename, data = fields["file"]
        file_id = self._new_id("file-")
        with self._lock:
            self._files[file_id] = data
        return Reply(200, self._file_object(file_id, filename or "upload.jsonl", purpose, len(data)))

    @staticmethod
    def _file_object(file_id: str, filename: str, purpose: str, size: int) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
        }

    def _openai_file_content(self, req: Request) -> Reply:
        with self._lock:
            data = self._files.get(req.params["file_id"])
        if data is None:
            return OpenAIProtocol().error(404, "not_found", f"No such File object: {req.params['file_id']}")
        self._batch_bump("openai", "result_downloads")
        return Reply(200, data, {"Content-Type": "application/octet-stream"})

    def _openai_batch_create(self, req: Request) -> Reply:
        proto = OpenAIProtocol()
        try:
            body = req.json()
            input_file_id = str(body["input_file_id"])
            endpoint = str(body["endpoint"])
        except (ValueError, KeyError, TypeError) as e:
            return proto.error(400, "bad_request", f"invalid request: {e}")
        with self._lock:
            data = self._files.get(input_file_id)
        if data is None:
            return proto.error(400, "bad_request", f"No such File object: {input_file_id}")
        lines: list[tuple[str, Any]] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for n, raw in enumerate(data.decode("utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                cid = str(row["custom_id"])
                if row.get("url") != endpoint or row.get("method", "POST") != "POST":
                    raise ValueError(f"url must be {endpoint} and method POST")
                if cid in seen:
                    raise ValueError(f"duplicate custom_id {cid!r}")
                seen.add(cid)
                lines.append((cid, row["body"]))
            except (ValueError, KeyError, TypeError) as e:
                errors.append({"code": "invalid_request", "message": str(e), "param": None, "line": n})
        batch_id = self._new_id("batch_")
        b = self._register_batch(
            "openai",
            batch_id,
            lines,
            req.headers,
            input_file_id=input_file_id,
            endpoint=endpoint,
            window=str(body.get("completion_window", "24h")),
            metadata=body.get("metadata"),
            errors=errors,
        )
        if errors:
            with self._batch_lock:
                b["state"], b["ended_at"] = "failed", int(time.time())
        return Reply(200, self._openai_batch_object(b))

    def _openai_batch_object(self, b: dict[str, Any]) -> dict[str, Any]:
        state = b["state"]
        out: dict[str, Any] = {
            "id": b["id"],
            "object": "batch",
            "endpoint": b["endpoint"],
            "input_file_id": b["input_file_id"],
            "completion_window": b["window"],
            "status": state,
            "created_at": b["created_at"],
            "in_progress_at": b["created_at"],
            "expires_at": b["created_at"] + 86400,
            "metadata": b["metadata"],
            "output_file_id": b.get("output_file_id"),
            "error_file_id": b.get("error_file_id"),
            "errors": {"object": "list", "data": b["errors"]} if b["errors"] else None,
            "request_counts": {"total": len(b["lines"]), "completed": 0, "failed": 0},
        }
        for key in ("completed", "failed", "expired", "cancelled"):
            out[f"{key}_at"] = b["ended_at"] if state == key else None
        if state in ("completed", "expired", "cancelled") and "output_file_id" not in b:
            ok = [self._openai_result_line(cid, st, body) for cid, st, body in b["results"] if st == 200]
            bad = [self._openai_result_line(cid, st, body) for cid, st, body in b["results"] if st != 200]
            bad += [self._openai_result_line(cid, None, None, code=f"batch_{state}") for cid in b["unanswered"]]
            b["output_file_id"] = self._store_jsonl(ok) if ok else None
            b["error_file_id"] = self._store_jsonl(bad) if bad else None
            out["output_file_id"], out["error_file_id"] = b["output_file_id"], b["error_file_id"]
        if state != "in_progress":
            n_ok = sum(1 for _, st, _ in b["results"] if st == 200)
            out["request_counts"] = {"total": len(b["lines"]), "completed": n_ok, "failed": len(b["lines"]) - n_ok}
        return out

    @staticmethod
    def _openai_result_line(cid: str, status: int | None, body: Any, code: str | None = None) -> dict[str, Any]:
        rid = hashlib.sha256(cid.encode()).hexdigest()[:16]
        if status is None:
            message = f"This request could not be executed before the batch was {code}."
            return {
                "id": f"batch_req_{rid}",
                "custom_id": cid,
                "response": None,
                "error": {"code": code, "message": message},
            }
        return {
            "id": f"batch_req_{rid}",
            "custom_id": cid,
            "response": {"status_code": status, "request_id": f"req_{rid}", "body": body},
            "error": None,
        }

    def _store_jsonl(self, rows: list[dict[str, Any]]) -> str:
        file_id = self._new_id("file-")
        with self._lock:
            self._files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
        return file_id

    def _openai_batch_get(self, req: Request) -> Reply:
        b = self._batch_poll(req.params["batch_id"], "openai")
        if b is None:
            return OpenAIProtocol().error(404, "not_found", f"No such batch: {req.params['batch_id']}")
        return Reply(200, self._openai_batch_object(b))

    def _openai_batch_cancel(self, req: Request) -> Reply:
        with self._batch_lock:
            b = self._batches.get(req.params["batch_id"])
            if b is None or b["provider"] != "openai":
                return OpenAIProtocol().error(404, "not_found", f"No such batch: {req.params['batch_id']}")
            if b["state"] == "in_progress":
                b["state"], b["ended_at"] = "cancelled", int(time.time())
                b["unanswered"] = [cid for cid, _ in b["lines"]]
                self._batch_bump("openai", "cancelled")
        return Reply(200, self._openai_batch_object(b))

    # -- Anthropic --

    def _anthropic_batch_create(self, req: Request) -> Reply:
        proto = AnthropicProtocol()
        try:
            body = req.json()
            requests = body["requests"]
            lines = [(str(r["custom_id"]), dict(r["params"])) for r in requests]
        except (ValueError, KeyError, TypeError) as e:
            return proto.error(400, "bad_request", f"requests: {e}")
        if not lines or len({cid for cid, _ in lines}) != len(lines):
            return proto.error(400, "bad_request", "requests: must be non-empty with unique custom_id values")
        b = self._register_batch("anthropic", self._new_id("msgbatch_"), lines, req.headers)
        return Reply(200, self._anthropic_batch_object(b))

    def _anthropic_batch_object(self, b: dict[str, Any]) -> dict[str, Any]:
        ended = b["state"] != "in_progress"
        counts = {
            "processing": 0 if ended else len(b["lines"]),
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        if ended:
            counts["succeeded"] = sum(1 for _, st, _ in b["results"] if st == 200)
            counts["errored"] = len(b["results"]) - counts["succeeded"]
            counts["canceled" if b["state"] == "cancelled" else "expired"] = len(b["unanswered"])
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else None  # noqa: E731
        return {
            "id": b["id"],
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": iso(b["created_at"]),
            "ended_at": iso(b["ended_at"]),
            "expires_at": iso(b["created_at"] + 86400),
            "archived_at": None,
            "cancel_initiated_at": iso(b["ended_at"]) if b["state"] == "cancelled" else None,
            "results_url": f"{self.url}/v1/messages/batches/{b['id']}/results" if ended else None,
        }

    def _anthropic_batch_get(self, req: Request) -> Reply:
        b = self._batch_poll(req.params["batch_id"], "anthropic")
        if b is None:
            return AnthropicProtocol().error(404, "not_found", f"batch {req.params['batch_id']} not found")
        return Reply(200, self._anthropic_batch_object(b))

    def _anthropic_batch_cancel(self, req: Request) -> Reply:
        with self._batch_lock:
            b = self._batches.get(req.params["batch_id"])
            if b is None or b["provider"] != "anthropic":
                return AnthropicProtocol().error(404, "not_found", f"batch {req.params['batch_id']} not found")
            if b["state"] == "in_progress":
                b["state"], b["ended_at"] = "cancelled", int(time.time())
                b["unanswered"] = [cid for cid, _ in b["lines"]]
                self._batch_bump("anthropic", "cancelled")
        return Reply(200, self._anthropic_batch_object(b))

    def _anthropic_batch_results(self, req: Request) -> Reply:
        with self._batch_lock:
            b = self._batches.get(req.params["batch_id"])
        if b is None or b["provider"] != "anthropic":
            return AnthropicProtocol().error(404, "not_found", f"batch {req.params['batch_id']} not found")
        if b["state"] == "in_progress":
            return AnthropicProtocol().error(400, "bad_request", "batch is still in progress")
        self._batch_bump("anthropic", "result_downloads")
        rows: list[dict[str, Any]] = []
        for cid, status, body in b["results"]:
            if status == 200:
                rows.append({"custom_id": cid, "result": {"type": "succeeded", "message": body}})
            else:
                rows.append({"custom_id": cid, "result": {"type": "errored", "error": body}})
        kind = "canceled" if b["state"] == "cancelled" else "expired"
        rows += [{"custom_id": cid, "result": {"type": kind}} for cid in b["unanswered"]]
        data = "".join(json.dumps(r) + "\n" for r in rows).encode()
        return Reply(200, data, {"Content-Type": "application/binary"})

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


# --------------------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: FakeModelServer) -> None:
        self.app = app
        super().__init__(addr, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on client resets
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeModelServer/1.0"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # headers and body are separate writes: avoid Nagle delays
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.app._lock:
            self.server.app._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.app._lock:
            self.server.app._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # never log headers; quiet by default
        pass

    def _client_gone(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True (early) if the client closed the connection or the server stops."""
        deadline = time.monotonic() + seconds
        stopping = self.server.app._stopping
        while True:
            if stopping.is_set():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                readable, _, _ = select.select([self.connection], [], [], min(0.05, remaining))
                if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                    return True
            except (OSError, ValueError):
                return True

    def _handle(self) -> None:
        split = urlsplit(self.path)
        path = "/" + split.path.strip("/")
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, path, parse_qs(split.query), headers, body, {}, self._client_gone)
        try:
            reply = self.server.app.dispatch(req)
        except Exception as e:  # a bug in the fake: answer 500 rather than hanging the client
            reply = Reply(
                500,
                {"error": {"message": f"fake server bug: {type(e).__name__}: {e}", "type": "server_error"}},
            )
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        data = reply.encoded()
        if reply.count is not None:
            reply.count(+1)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.headers.pop("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            if reply.count is not None:
                reply.count(-1)

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_DELETE = _handle


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
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


if __name__ == "__main__":
    raise SystemExit(main())
