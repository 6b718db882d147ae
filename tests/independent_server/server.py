"""An independent OpenAI/Anthropic protocol server on 127.0.0.1 that injects HTTP, transport and body faults.

Raw asyncio streams (not a web framework), so a fault can do anything a broken server or proxy does:
close before any byte, send less than Content-Length, reset, never answer, trickle, chunk, gzip.
A fault is chosen per request by a marker in the prompt (see protocol.MARKER), by a schedule on
the request number, or by a server-wide default. Every request is recorded (`requests`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import json
import socket
import struct
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from independent_server import protocol as P

TIERS = ("full_instructions", "partial", "refusal", "safe_deflection")


@dataclass
class Seen:
    """One request as the server saw it."""

    n: int
    at: float
    path: str
    proto: str
    role: str  # target | judge | ? (unparseable)
    model: str
    key: str  # first user message: identifies the item across attempts
    attempt: int  # 1-based attempt number for (proto, role, model, key)
    fault: str | None
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    mode: str = "plain"  # plain | chunked | gzip | trickle | midbody | close | reset | hang


class IndependentServer:
    """Start with `start()`, stop with `stop()`; `url` is the base URL (OpenAI clients add /v1)."""

    def __init__(self, keys: dict[str, str], *, latency_s: float = 0.0) -> None:
        self.keys = keys  # {"oa": ..., "an": ...}
        self.latency_s = latency_s
        self.default_fault: str | None = None
        self.schedule: dict[int, str] = {}  # request number (1-based) -> fault
        self.max_requests_per_connection: int | None = None  # then the next request is dropped unanswered
        self.requests: list[Seen] = []
        self._attempts: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> IndependentServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", 0, limit=2**24))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="independent-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._attempts.clear()
            self.default_fault = None
            self.schedule = {}
            self.max_requests_per_connection = None

    def seen(self, **match: Any) -> list[Seen]:
        with self._lock:
            return [s for s in self.requests if all(getattr(s, k) == v for k, v in match.items())]

    # -- HTTP ----------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                if self.max_requests_per_connection is not None and served >= self.max_requests_per_connection:
                    # The keep-alive connection is closed by the server as the next request arrives.
                    return
                method, path, headers, raw = request
                reply = await self._answer(method, path, headers, raw)
                served += 1
                if not await self._send(reply, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            if not writer.is_closing():
                writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
        line = await reader.readline()
        if not line:
            return None
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            h = await reader.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            raw = b""
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                raw += await reader.readexactly(size)
                await reader.readline()
        else:
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        return method, path, headers, raw

    async def _send(self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Write the reply as its mode says; False when the connection must not be reused."""
        mode = reply.mode
        if mode == "close":
            writer.close()
            return False
        if mode == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if mode == "hang":
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(1), timeout=120)  # until the client gives up
            return False
        body = reply.body
        head = {"Content-Type": reply.content_type, "Date": email.utils.formatdate(usegmt=True), **reply.headers}
        if mode == "gzip":
            body = gzip.compress(body)
            head["Content-Encoding"] = "gzip"
        if mode == "chunked":
            head["Transfer-Encoding"] = "chunked"
        elif mode == "midbody":
            head["Content-Length"] = str(len(body) + 5000)
            body = body[: len(body) // 2]
        else:
            head["Content-Length"] = str(len(body))
        reason = {
            200: "OK",
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
            529: "Overloaded",
        }.get(reply.status, "Status")
        lines = [f"HTTP/1.1 {reply.status} {reason}"] + [f"{k}: {v}" for k, v in head.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if mode == "chunked":
            for i in range(0, len(body), 1000):
                piece = body[i : i + 1000]
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        elif mode.startswith("trickle"):
            step, pause = (64, 0.01) if mode == "trickle" else (1, 0.25)
            for i in range(0, len(body), step):
                writer.write(body[i : i + step])
                await writer.drain()
                await asyncio.sleep(pause)
        else:
            writer.write(body)
        await writer.drain()
        if mode in ("midbody", "close_after"):
            writer.close()
            return False
        return True

    # -- protocol ------------------------------------------------------------------------------
    async def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        clean = path.split("?")[0].rstrip("/")
        if clean.endswith("/chat/completions"):
            proto = "oa"
        elif clean.endswith("/messages"):
            proto = "an"
        else:
            return Reply(404, json.dumps({"error": {"message": f"no route {path}"}}).encode())
        if method != "POST":
            return Reply(405, b"{}")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        ask = P.JudgeAsk(proto, body) if isinstance(body, dict) else None
        role = "?" if ask is None else ("judge" if ask.is_judge else "target")
        model = str(body.get("model")) if isinstance(body, dict) else "?"
        key = P.first_user_text(body) if isinstance(body, dict) else ""
        marks = P.markers(P.all_text(body)) if isinstance(body, dict) else []
        with self._lock:
            n = len(self.requests) + 1
            attempt_key = (proto, role, model, key)
            self._attempts[attempt_key] += 1
            attempt = self._attempts[attempt_key]
            fault = self._fault_for(n, proto, role, marks, attempt)
            self.requests.append(
                Seen(n, time.monotonic(), clean, proto, role, model, key, attempt, fault, dict(headers))
            )
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        problem = P.request_problem(proto, body, headers, self.keys)
        if problem is not None:
            status, message = problem
            return Reply(status, json.dumps(P.error_body(proto, status, message)).encode())
        assert isinstance(body, dict) and ask is not None
        tier = next((name for r, p, name, _ in marks if r == "tier" and name in TIERS), None)
        answer = next((name for r, p, name, _ in marks if r == "a" and p in (None, proto)), None)
        return fault_reply(fault, proto, body, ask, tier, answer)

    def _fault_for(
        self, n: int, proto: str, role: str, marks: list[tuple[str, str | None, str, int | None]], attempt: int
    ) -> str | None:
        if n in self.schedule:
            return self.schedule[n]
        want = {"target": "t", "judge": "j"}.get(role)
        for r, p, name, count in marks:
            if r == want and p in (None, proto) and (count is None or attempt <= count):
                return name
        return self.default_fault


# -- the faults -------------------------------------------------------------------------------------
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center>"
    b"<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def normal_body(
    proto: str, body: dict[str, Any], ask: P.JudgeAsk, tier: str | None, answer: str | None
) -> dict[str, Any]:
    """A valid completion: a verdict in the requested shape for a judge, some text for a target."""
    model = body["model"]
    prompt = P.all_text(body)
    if ask.is_judge:
        verdict = ask.verdict(tier)
        text = json.dumps(verdict)
        if ask.mode == "tool":
            if proto == "oa":
                call = {"id": "call_1", "type": "function", "function": {"name": ask.tool_name, "arguments": text}}
                msg = {"content": None, "tool_calls": [call]}
                return P.openai_completion(model, msg, "tool_calls", P.usage(proto, prompt, text))
            block = {"type": "tool_use", "id": "toolu_1", "name": ask.tool_name, "input": verdict}
            return P.anthropic_message(model, [block], "tool_use", P.usage(proto, prompt, text))
        if ask.mode == "md_json":
            text = f"Here is my grading.\n```json\n{text}\n```"
    else:
        plain = f"{model} answers independently: {P.first_user_text(body)[:60]}"
        text = P.HOSTILE_ANSWERS.get(answer or "", "") or plain
    if proto == "oa":
        return P.openai_completion(model, {"content": text}, "stop", P.usage(proto, prompt, text))
    return P.anthropic_message(model, [{"type": "text", "text": text}], "end_turn", P.usage(proto, prompt, text))


def fault_reply(
    fault: str | None, proto: str, body: dict[str, Any], ask: P.JudgeAsk, tier: str | None, answer: str | None
) -> Reply:
    ok = normal_body(proto, body, ask, tier, answer)
    if fault is None:
        return Reply(body=_json(ok))
    # HTTP status faults
    if fault.startswith("http") and fault[4:].isdigit():
        status = int(fault[4:])
        return Reply(status, _json(P.error_body(proto, status, f"injected HTTP {status}")))
    if fault == "r429s":
        return Reply(429, _json(P.error_body(proto, 429, "rate limited")), {"Retry-After": "1"})
    if fault == "r429date":
        when = email.utils.formatdate(time.time() + 2, usegmt=True)
        return Reply(429, _json(P.error_body(proto, 429, "rate limited")), {"Retry-After": when})
    if fault == "overloaded":
        return Reply(529, _json(P.anthropic_error(529, "Overloaded")))
    if fault == "html502":
        return Reply(502, HTML_PAGE, content_type="text/html")
    if fault == "html200":
        return Reply(200, HTML_PAGE, content_type="text/html")
    if fault == "empty200":
        return Reply(200, b"")
    if fault == "error200":
        return Reply(200, _json(P.error_body(proto, 500, "error object in a 200")))
    # transport faults: the body is the normal one, the delivery is broken (or fine: chunked, gzip)
    if fault in ("close", "reset", "hang", "midbody", "trickle", "trickle_slow", "chunked", "gzip", "close_after"):
        return Reply(body=_json(ok), mode=fault)
    # body faults
    if fault == "badjson":
        return Reply(body=b'{"id": "x", "choices": [ nonsense }')
    if fault == "truncjson":
        return Reply(body=_json(ok)[:40])
    if fault == "nonutf8":
        raw = _json(ok)
        cut = raw.find(b"independent") if b"independent" in raw else raw.find(b"Independent")
        return Reply(body=raw[:cut] + b"\xff\xfe\xc3(" + raw[cut:] if cut > 0 else raw + b"\xff")
    if fault == "huge":
        ok["padding"] = "x" * 6_000_000
        return Reply(body=_json(ok))
    if fault == "extra_fields":
        return Reply(body=_json(with_extra_fields(proto, ok)))
    if fault in ("usage_missing", "usage_null", "usage_str"):
        if fault == "usage_missing":
            ok.pop("usage", None)
        elif fault == "usage_null":
            ok["usage"] = {k: None for k in ok.get("usage", {})}
        else:
            ok["usage"] = {k: str(v) for k, v in ok.get("usage", {}).items()}
        return Reply(body=_json(ok))
    if proto == "oa":
        return Reply(body=_json(openai_body_fault(fault, ok, ask)))
    return Reply(body=_json(anthropic_body_fault(fault, ok, ask)))


def with_extra_fields(proto: str, ok: dict[str, Any]) -> dict[str, Any]:
    ok["service_tier"] = "default"
    ok["x_unknown"] = {"nested": [1, {"a": None}]}
    if proto == "oa":
        choice = ok["choices"][0]
        choice["x_choice_extra"] = True
        choice["message"]["annotations"] = []
        choice["message"]["audio"] = None
        choice["message"]["x_message_extra"] = "yes"
        for call in choice["message"].get("tool_calls") or []:
            call["x_call_extra"] = 1
            call["function"]["x_fn_extra"] = 2
        ok["usage"]["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        ok["usage"]["completion_tokens_details"] = {"reasoning_tokens": 0}
    else:
        for block in ok["content"]:
            block["x_block_extra"] = "yes"
            block["citations"] = None
        ok["usage"].update(
            {
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "server_tool_use": None,
                "service_tier": "standard",
            }
        )
        ok["container"] = None
    return ok


def openai_body_fault(fault: str, ok: dict[str, Any], ask: P.JudgeAsk) -> dict[str, Any]:
    msg = ok["choices"][0]["message"]
    calls = msg.get("tool_calls") or []
    if fault == "nochoices":
        ok["choices"] = []
    elif fault == "nullcontent":
        msg["content"] = None
        msg.pop("tool_calls", None)
    elif fault == "length":
        if calls:
            calls[0]["function"]["arguments"] = calls[0]["function"]["arguments"][:25]
        else:
            msg["content"] = (msg["content"] or "")[:20]
        ok["choices"][0]["finish_reason"] = "length"
    elif fault == "content_filter":
        msg["content"] = None
        msg.pop("tool_calls", None)
        ok["choices"][0]["finish_reason"] = "content_filter"
    elif fault == "refusal":
        msg["content"] = None
        msg.pop("tool_calls", None)
        msg["refusal"] = "I can't help with grading this."
    elif calls or ask.is_judge:
        args = tool_args_fault(fault, ask)
        if calls:
            if fault == "wrongfn":
                calls[0]["function"]["name"] = "some_other_function"
            elif fault == "twocalls":
                second = json.loads(calls[0]["function"]["arguments"])
                second["tier"] = "full_instructions" if second.get("tier") != "full_instructions" else "refusal"
                calls.append(
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": calls[0]["function"]["name"], "arguments": json.dumps(second)},
                    }
                )
            elif args is not None:
                calls[0]["function"]["arguments"] = args
        elif args is not None:
            msg["content"] = args
    return ok


def anthropic_body_fault(fault: str, ok: dict[str, Any], ask: P.JudgeAsk) -> dict[str, Any]:
    blocks = ok["content"]
    tool_blocks = [b for b in blocks if b["type"] == "tool_use"]
    if fault == "an_empty":
        ok["content"] = []
    elif fault == "textonly":
        ok["content"] = [{"type": "text", "text": "I would rather explain in prose: this looks like a refusal."}]
        ok["stop_reason"] = "end_turn"
    elif fault == "length":
        if tool_blocks:
            ok["content"] = [{"type": "text", "text": "Let me think about this respon"}]
        else:
            blocks[0]["text"] = blocks[0]["text"][:20]
        ok["stop_reason"] = "max_tokens"
    elif fault in ("content_filter", "refusal"):
        ok["content"] = []
        ok["stop_reason"] = "refusal"
    elif tool_blocks:
        block = tool_blocks[0]
        if fault == "wrongfn":
            block["name"] = "some_other_function"
        elif fault == "twocalls":
            second = dict(block["input"])
            second["tier"] = "full_instructions" if second.get("tier") != "full_instructions" else "refusal"
            ok["content"].append({"type": "tool_use", "id": "toolu_2", "name": block["name"], "input": second})
        else:
            args = tool_args_fault(fault, ask)
            if args is not None:
                try:
                    block["input"] = json.loads(args)
                except ValueError:
                    block["input"] = args  # a string where an object belongs: not even JSON
    elif ask.is_judge:
        args = tool_args_fault(fault, ask)
        if args is not None:
            blocks[0]["text"] = args
    return ok


def tool_args_fault(fault: str, ask: P.JudgeAsk) -> str | None:
    """The verdict's arguments text for an argument fault (None: not an argument fault)."""
    good = ask.verdict("refusal")
    if fault == "args_notjson":
        return "{rationale: refusal, tier: 'refusal'"
    if fault == "args_wrongshape":
        return json.dumps(["refusal", "because"])
    if fault == "args_notier":
        return json.dumps({k: v for k, v in good.items() if k != "tier"})
    if fault == "args_badtier":
        return json.dumps({**good, "tier": "mostly_harmless"})
    if fault == "args_extra":
        return json.dumps({**good, "score": 7, "notes": {"a": 1}})
    if fault == "args_nulltier":
        return json.dumps({**good, "tier": None})
    return None
