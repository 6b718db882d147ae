"""Keeping credentials out of everything judge writes: DuckDB, logs, reports, error messages."""

from __future__ import annotations

import os
import re
import threading

_lock = threading.Lock()
_known: set[str] = set()
_PATTERNS = [
    re.compile(r"(?i)(authorization|x-api-key|api[-_]?key)(\"?\s*[:=]\s*\"?)(bearer\s+)?[^\s\"',}]+"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._\-]{8,}"),
    re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{8,}"),
]


def register_secret(value: str | None) -> None:
    """Remember a credential value so `redact` removes it wherever it appears."""
    if value and len(value) >= 4:
        with _lock:
            _known.add(value)


def api_key_from_env(env_name: str | None) -> str | None:
    """Read a key from the environment (the only place keys come from) and register it."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    register_secret(value)
    return value


def redact(text: str | None) -> str | None:
    if text is None:
        return None
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, "[REDACTED]")
    for pat in _PATTERNS:
        text = pat.sub(lambda m: _keep_label(m), text)
    return text


def _keep_label(m: re.Match[str]) -> str:
    if m.lastindex and m.lastindex >= 2 and m.group(1) and m.group(2) is not None:
        return f"{m.group(1)}{m.group(2)}[REDACTED]"
    return "[REDACTED]"
