"""One pooled HTTP session per endpoint: POST a JSON body, get (status, headers, body) or a classified error.

Sessions belong to the event loop that created them; each is closed when that loop shuts down
(asyncio.run closes open async generators, and each session is held by one), or by `close_sessions()`.
"""

from __future__ import annotations

import asyncio
import errno
import json
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from judge.providers.errors import ErrorInfo
from judge.secrets import redact

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aiohttp.ClientSession]] = (
    weakref.WeakKeyDictionary()
)
_proxies: dict[str, str | None] = {}  # origin -> proxy from the environment, looked up once
_keepers: list[AsyncIterator[None]] = []  # async generators that close a loop's sessions at shutdown
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # an answer is read whole only up to this size


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _closer(sessions: dict[str, aiohttp.ClientSession]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for session in list(sessions.values()):
            await session.close()
        sessions.clear()


async def session_for(url: str) -> aiohttp.ClientSession:
    """The running loop's pooled session for this URL's origin (scheme://host:port)."""
    loop = asyncio.get_running_loop()
    sessions = _sessions.get(loop)
    if sessions is None:
        sessions = _sessions[loop] = {}
        keeper = _closer(sessions)
        await keeper.__anext__()  # registered with the loop: closed by shutdown_asyncgens()
        _keepers.append(keeper)
        del _keepers[:-64]
    origin = _origin(url)
    session = sessions.get(origin)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        # trust_env would look up netrc and proxies in a thread on every request: the proxy is found once
        session = aiohttp.ClientSession(connector=connector, json_serialize=json.dumps, trust_env=False)
        sessions[origin] = session
    return session


def proxy_for(url: str) -> str | None:
    """The HTTP(S)_PROXY that applies to this URL (NO_PROXY honoured), looked up once per origin."""
    origin = _origin(url)
    if origin not in _proxies:
        from urllib.request import getproxies, proxy_bypass

        host = urlsplit(url).hostname or ""
        proxies = getproxies()
        scheme = urlsplit(url).scheme
        _proxies[origin] = None if not proxies.get(scheme) or proxy_bypass(host) else proxies[scheme]
    return _proxies[origin]


async def close_sessions() -> None:
    """Close the running loop's sessions now (they are also closed when the loop shuts down)."""
    sessions = _sessions.pop(asyncio.get_running_loop(), {})
    for session in sessions.values():
        await session.close()


async def post_json(
    url: str, body: bytes, headers: Mapping[str, str], timeout_s: float, *, fresh: bool = False
) -> HttpAnswer:
    """POST and read the whole answer; network failures raise TransportError with a classified ErrorInfo.

    `fresh`: on a new connection of its own instead of the pool's (the resend after a stale one)."""
    if fresh:
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as one_off:
            return await _post(one_off, url, body, headers, timeout_s)
    return await _post(await session_for(url), url, body, headers, timeout_s)


def _stale(exc: BaseException) -> bool:
    """The server closed (or reset) the connection before answering: what a kept-alive connection the
    server has just closed gives, and also a server that drops every request (the resend tells them apart)."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return True
    return isinstance(exc, aiohttp.ClientOSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE)


async def _post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
) -> HttpAnswer:
    try:
        async with session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s), proxy=proxy_for(url)
        ) as resp:
            return HttpAnswer(resp.status, resp.headers, await _read_capped(resp))
    except TimeoutError:
        raise TransportError(ErrorInfo("timeout", f"Timeout: no answer within {timeout_s:g} s", None)) from None
    except aiohttp.ClientPayloadError as exc:
        raise TransportError(ErrorInfo("malformed_response", _message("incomplete answer", exc), None)) from None
    except (aiohttp.ClientError, OSError) as exc:
        info = ErrorInfo("connection", _message("connection failed", exc), None)
        raise TransportError(info, stale=_stale(exc)) from None


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    """The whole body, unless it is larger than MAX_ANSWER_BYTES (a broken or hostile server)."""
    length = resp.content_length
    if length is not None and length <= MAX_ANSWER_BYTES:
        return await resp.read()
    if length is None:  # chunked: read up to the cap
        parts: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                break
            parts.append(chunk)
        else:
            return b"".join(parts)
    resp.close()  # the connection is not reused: the rest of the body is never read
    message = f"the answer is larger than {MAX_ANSWER_BYTES:,} bytes; not read"
    raise TransportError(ErrorInfo("malformed_response", message, resp.status))


def _message(what: str, exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {what}: {exc}")[:2000]  # type: ignore[index]


class TransportError(Exception):
    """A request that got no HTTP answer (timeout, refused or dropped connection)."""

    def __init__(self, info: ErrorInfo, *, stale: bool = False) -> None:
        super().__init__(info.message)
        self.info = info
        self.stale = stale  # closed or reset before any answer: worth one immediate resend on a new connection
