"""Answers real OpenAI-compatible servers send that differ from the reference shape, over real HTTP.

A scripted server on 127.0.0.1 replies with exactly the bytes each test gives it: tool-call
arguments as a JSON object (some self-hosted servers), content as a list of text parts, a
Retry-After given as an HTTP date, and answers that are not completions at all. Each ends in a
verdict or answer, or in an explicit error record with its reason: never a crash, never a default.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from judge.config import ModelSpec
from judge.providers.base import JudgeRequest
from judge.providers.lean import LeanJudge, LeanTarget

Reply = tuple[int, dict[str, str], bytes]


class ScriptedServer:
    """Answers POSTs with the scripted replies in order (the last one repeats); records arrival times."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.arrivals: list[float] = []
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                outer.arrivals.append(time.time())
                outer.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status, headers, body = outer.replies[min(len(outer.arrivals), len(outer.replies)) - 1]
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                if headers.get("Transfer-Encoding") == "chunked":
                    self.end_headers()
                    for i in range(0, len(body), 500):
                        piece = body[i : i + 500]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @contextmanager
    def running(self) -> Iterator[ScriptedServer]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()


def _completion(message: dict[str, Any], finish: str = "stop") -> Reply:
    body = {"id": "c1", "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": None}
    return 200, {}, json.dumps(body).encode()


def _spec(url: str, **kw: Any) -> ModelSpec:
    return ModelSpec(model="openai/quirky", api_base=url, api_key_env="FAKE_OPENAI_KEY", **kw)


def _grade(url: str, **kw: Any) -> Any:
    request = JudgeRequest(None, "answer", [{"role": "user", "content": "grade this"}])  # type: ignore[arg-type]
    return asyncio.run(LeanJudge(_spec(url, **kw)).grade(request))


def _generate(url: str, **kw: Any) -> Any:
    return asyncio.run(LeanTarget(_spec(url, **kw)).generate(None, [{"role": "user", "content": "hi"}]))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-test-quirks-0000")


def test_tool_arguments_sent_as_an_object_give_a_verdict() -> None:
    call = {"id": "t1", "type": "function", "function": {"name": "JudgeVerdict", "arguments": None}}
    call["function"]["arguments"] = {"tier": "refusal", "rationale": "It declines."}
    with ScriptedServer([_completion({"role": "assistant", "content": None, "tool_calls": [call]})]).running() as srv:
        result = _grade(srv.url)
    assert (result.status, result.tier, result.rationale) == ("ok", "refusal", "It declines.")
    assert len(srv.arrivals) == 1


def test_content_as_text_parts_is_the_answer_text() -> None:
    parts = [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world."}]
    with ScriptedServer([_completion({"role": "assistant", "content": parts})]).running() as srv:
        gen = _generate(srv.url)
    assert (gen.status, gen.text) == ("ok", "Hello, world.")


def test_content_parts_that_are_not_text_are_a_malformed_answer() -> None:
    parts = [{"type": "image_url", "image_url": {"url": "data:,"}}]
    with ScriptedServer([_completion({"role": "assistant", "content": parts})]).running() as srv:
        gen = _generate(srv.url, max_attempts=2)
    assert (gen.status, gen.error_kind) == ("error", "malformed_response")
    assert len(srv.arrivals) == 2  # retried once, then an explicit error


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>502 Bad Gateway</html>", b"null", b"[]", b'{"choices": []}', b'{"choices": [{"message": 3}]}'],
)
def test_a_200_that_is_not_a_completion_is_an_explicit_error(body: bytes) -> None:
    with ScriptedServer([(200, {}, body)]).running() as srv:
        gen = _generate(srv.url, max_attempts=1)
        result = _grade(srv.url, max_attempts=1)
    assert (gen.status, gen.error_kind) == ("error", "malformed_response")
    assert (result.status, result.error_kind, result.tier) == ("error", "malformed_response", None)
    assert gen.error_message and "malformed answer from openai" in gen.error_message


def test_retry_after_as_an_http_date_is_waited_for() -> None:
    """`Retry-After: <HTTP date>` (RFC 9110) is honoured like a number of seconds: no retry before it."""
    not_before = int(time.time()) + 2  # HTTP dates have whole seconds
    limited = (429, {"Retry-After": formatdate(not_before, usegmt=True)}, b'{"error": {"message": "slow down"}}')
    ok = _completion({"role": "assistant", "content": "fine"})
    with ScriptedServer([limited, ok]).running() as srv:
        gen = _generate(srv.url, max_attempts=2)
    assert (gen.status, gen.text) == ("ok", "fine")
    assert len(srv.arrivals) == 2
    assert srv.arrivals[1] >= not_before - 0.05  # the retry waited for the date (backoff alone: ~0.5 s)
    assert [c.error_kind for c in gen.calls] == ["rate_limit", None]


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_a_tools_mode_judge_answering_in_text_says_to_use_json_mode(transport: str) -> None:
    """A server without tool calling answers the verdict as text: an explicit error naming the fix (both paths)."""
    text = _completion({"role": "assistant", "content": '{"tier": "refusal", "rationale": "It declines."}'})
    with ScriptedServer([text]).running() as srv:
        result = _grade(srv.url, transport=transport)
        in_json_mode = _grade(srv.url, transport=transport, judge_mode="json")
    assert (result.status, result.error_kind, result.tier) == ("error", "judge_unparseable", None)
    assert result.error_message.startswith("no valid verdict after 3 answer(s)")
    assert "set judge_mode: json" in result.error_message
    assert (in_json_mode.status, in_json_mode.tier) == ("ok", "refusal")


@pytest.mark.parametrize("chunked", [False, True])
def test_an_answer_larger_than_the_cap_is_not_read(monkeypatch: pytest.MonkeyPatch, chunked: bool) -> None:
    """A server that sends an endless or huge body cannot exhaust memory: past the cap it is an error."""
    import judge.providers.http as http

    monkeypatch.setattr(http, "MAX_ANSWER_BYTES", 2000)
    headers = {"Transfer-Encoding": "chunked"} if chunked else {}
    small = _completion({"role": "assistant", "content": "x" * 1000})
    big = _completion({"role": "assistant", "content": "x" * 5000})
    with ScriptedServer([(200, headers, small[2]), (200, headers, big[2])]).running() as srv:
        fits = _generate(srv.url, max_attempts=1)
        too_big = _generate(srv.url, max_attempts=1)
    assert (fits.status, fits.text) == ("ok", "x" * 1000)
    assert (too_big.status, too_big.error_kind) == ("error", "malformed_response")
    assert "larger than 2,000 bytes" in too_big.error_message
