"""The viewer's own safety: where it may listen, the access token, the Host check, CSRF and response headers.

- It listens on 127.0.0.1 unless told otherwise; another address needs a token (refused otherwise).
- With a token, every request must carry it: `?token=` once (it is then moved to an HttpOnly,
  SameSite=Strict cookie and the URL is redirected without it), the cookie, or
  `Authorization: Bearer`. Static files too.
- Without a token, only loopback Host headers are accepted, so a web page elsewhere cannot reach
  the viewer through DNS rebinding.
- The one state-changing request (saving a gold label) needs the page's CSRF token and, when the
  browser sends one, a same-origin Origin header.
- Every response carries a strict Content-Security-Policy (scripts and styles only from the viewer's
  own files, nothing inline, no remote loads, no framing), no-sniff, and a referrer only to itself
  (same-origin: browsers then send the Origin header that the CSRF check reads).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
TOKEN_COOKIE = "judge_view_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class UnsafeBind(ValueError):
    """Listening beyond this machine without a token."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise UnsafeBind(
            f"refusing to listen on {host} without --token: anyone who can reach it could read every stored "
            "prompt and response (pass --token SECRET, or leave --host at 127.0.0.1)"
        )


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (False when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


@dataclass
class Guard:
    """The rules one server applies to each request."""

    host: str
    port: int
    token: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def host_allowed(self, host_header: str | None) -> bool:
        """Without a token only loopback names (DNS rebinding); with one, the token is the gate."""
        if self.token:
            return True
        if not host_header:
            return False
        name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        return name in LOOPBACK_NAMES or is_loopback(name)

    def token_ok(self, query_token: str | None, cookie: str | None, authorization: str | None) -> bool:
        if not self.token:
            return True
        bearer = authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None
        return same(query_token, self.token) or same(cookie, self.token) or same(bearer, self.token)

    def csrf_ok(self, form_token: str | None, origin: str | None, host_header: str | None) -> bool:
        if not same(form_token, self.csrf):
            return False
        if origin is None:  # browsers send Origin on POST; a missing one is not a cross-site form
            return True
        return origin in (f"http://{host_header}", f"https://{host_header}")
