"""Classifying provider errors: what kind, whether retrying can help, whether to stop the run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from judge.secrets import redact

RETRYABLE_KINDS = frozenset(
    {"rate_limit", "timeout", "connection", "server_error", "malformed_response", "empty_response"}
)
FATAL_KINDS = frozenset({"auth", "not_found"})  # every request of the model would fail the same way
# the error `type` (or `code`) of an error object, as the HTTP status the protocols send it with
_ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "api_error": 500,
    "server_error": 500,
    "overloaded_error": 529,
}


@dataclass(frozen=True)
class ErrorInfo:
    kind: str
    message: str
    http_status: int | None
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS

    @property
    def fatal(self) -> bool:
        return self.kind in FATAL_KINDS


class FatalProviderError(Exception):
    """An error that retrying cannot fix for any item (bad credentials): stop the run."""

    def __init__(self, model: str, env_name: str | None, info: ErrorInfo) -> None:
        self.model = model
        self.env_name = env_name
        self.info = info
        self.calls: list[Any] = []  # the CallRecords of the item that met it, for the stage to record once
        if info.kind == "not_found":
            super().__init__(
                f"{model}: the provider does not know this model or endpoint (HTTP {info.http_status}); "
                f"check the model name and api_base ({info.message[:300]})"
            )
            return
        where = f"environment variable {env_name}" if env_name else "no api_key_env set in the config"
        super().__init__(f"{model}: the provider rejected the credentials (HTTP {info.http_status}); check {where}")


def _retry_after(exc: BaseException) -> float | None:
    headers = None
    for attr in ("litellm_response_headers", "headers"):
        h = getattr(exc, attr, None)
        if h:
            headers = h
            break
    if headers is None:
        resp = getattr(exc, "response", None)
        headers = getattr(resp, "headers", None)
    if not headers:
        return None
    return _retry_after_headers(headers)


def classify_http(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> ErrorInfo:
    """Classify an HTTP error answer the way classify_exception classifies litellm's exceptions."""
    detail = _error_detail(body)
    low = detail.lower()
    message = redact(f"HTTP {status} from {provider}: {detail}")[:2000]  # type: ignore[index]
    retry_after = _retry_after_headers(headers)
    if "content_policy_violation" in low or "content management policy" in low:
        return ErrorInfo("content_filter", message, status)
    if status == 429:
        return ErrorInfo("rate_limit", message, 429, retry_after)
    if status == 408:
        return ErrorInfo("timeout", message, status)
    if status in (401, 403):
        return ErrorInfo("auth", message, status)
    if status == 404:
        return ErrorInfo("not_found", message, 404)
    if any(s in low for s in ("context_length_exceeded", "maximum context length", "prompt is too long")):
        return ErrorInfo("context_window", message, status)
    if status in (400, 413, 422):
        return ErrorInfo("bad_request", message, status)
    if status >= 500:
        return ErrorInfo("server_error", message, status, retry_after)
    return ErrorInfo("provider_error", message, status)


def classify_error_object(data: object, headers: Mapping[str, str], body: bytes, provider: str) -> ErrorInfo | None:
    """An error object sent with HTTP 200 (some gateways and proxies do), classified as its type says; else None.

    OpenAI `{"error": {"type", "code", "message"}}` and Anthropic `{"type": "error", "error": {...}}`:
    an overloaded or rate-limit error is retried like the HTTP answer it stands for, not read as a broken body.
    """
    if not isinstance(data, dict) or "choices" in data or "content" in data:
        return None
    err = data.get("error")
    if not isinstance(err, dict):
        return None
    code = err.get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else None
    if status is None:
        status = _ERROR_TYPE_STATUS.get(str(err.get("type")), _ERROR_TYPE_STATUS.get(str(code), 500))
    info = classify_http(status, headers, body, provider)
    message = info.message.replace(f"HTTP {status} from", "an error object in an HTTP 200 answer from", 1)
    return ErrorInfo(info.kind, message, 200, info.retry_after_s)


def _error_detail(body: bytes) -> str:
    """The provider's error message from an OpenAI- or Anthropic-shaped error body, else the raw text."""
    text = body[:4000].decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip() or "(empty body)"
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        parts = [str(err.get(k)) for k in ("type", "code") if err.get(k)]
        return f"{'/'.join(parts) + ': ' if parts else ''}{err.get('message', '')}"
    return text.strip()


def _retry_after_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks to wait: `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None  # unreadable: the exponential backoff applies
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def classify_exception(exc: BaseException) -> ErrorInfo:
    """Map a litellm/openai/httpx exception to an ErrorInfo. Imports litellm lazily."""
    import litellm

    status = getattr(exc, "status_code", None)
    status = int(status) if isinstance(status, int) else None
    message = redact(f"{type(exc).__name__}: {exc}")[:2000]  # type: ignore[index]
    if isinstance(exc, litellm.ContentPolicyViolationError) or _looks_content_filtered(exc):
        return ErrorInfo("content_filter", message, status or 400)
    if isinstance(exc, litellm.RateLimitError):
        return ErrorInfo("rate_limit", message, 429, _retry_after(exc))
    if isinstance(exc, litellm.Timeout):
        return ErrorInfo("timeout", message, status)
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return ErrorInfo("auth", message, status)
    if isinstance(exc, litellm.NotFoundError):
        return ErrorInfo("not_found", message, 404)
    if isinstance(exc, litellm.ContextWindowExceededError):
        return ErrorInfo("context_window", message, status)
    if isinstance(exc, litellm.BadRequestError | litellm.UnprocessableEntityError):
        return ErrorInfo("bad_request", message, status)
    if isinstance(exc, litellm.APIConnectionError):
        # litellm also reports unparseable bodies this way
        kind = "malformed_response" if _looks_malformed(exc) else "connection"
        return ErrorInfo(kind, message, None)
    if isinstance(exc, litellm.InternalServerError | litellm.ServiceUnavailableError | litellm.BadGatewayError):
        return ErrorInfo("server_error", message, status, _retry_after(exc))
    if isinstance(exc, litellm.APIError):
        if status is not None and status >= 500:
            return ErrorInfo("server_error", message, status, _retry_after(exc))
        if status in (401, 403):
            return ErrorInfo("auth", message, status)
        return ErrorInfo("malformed_response" if _looks_malformed(exc) else "provider_error", message, status)
    if isinstance(exc, TimeoutError):
        return ErrorInfo("timeout", message, None)
    if isinstance(exc, ConnectionError | OSError):
        return ErrorInfo("connection", message, None)
    if isinstance(exc, ValueError) and _looks_malformed(exc):
        return ErrorInfo("malformed_response", message, None)
    return ErrorInfo("unexpected", message, status)


def _looks_content_filtered(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "content_policy_violation" in text or "content management policy" in text


def _looks_malformed(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("json", "decode", "expecting value", "unterminated", "invalid control"))
