"""The fake server's HTTP layer: a threading stdlib server whose handler turns sockets into Request/Reply."""

from __future__ import annotations

import contextlib
import select
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fake_server.protocols import Reply, Request

if TYPE_CHECKING:
    from fake_server.server import FakeModelServer


class LoopbackHTTPServer(ThreadingHTTPServer):
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


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeModelServer/1.0"
    server: LoopbackHTTPServer

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
