"""Errors the client raises: the server's stable code (docs/errors.md), whatever the wire."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

# Codes worth retrying unchanged: the server may be restarting, busy or over a quota for now.
# UNAVAILABLE is the client's own: the server could not be reached or did not answer in time.
RETRYABLE_CODES = frozenset(
    {
        "UNAVAILABLE",
        "NOT_READY",
        "STORAGE_UNAVAILABLE",
        "TOO_MANY_CONNECTIONS",
        "SLOW_CONSUMER",
        "QUOTA_EXCEEDED",
        "GOING_AWAY",
    }
)


class EngramError(Exception):
    """An error from Engram, or from reaching it.

    ``code`` is a stable code of docs/errors.md (branch on it), or one of the client's own:
    ``UNAVAILABLE`` (the server could not be reached or did not answer in time),
    ``CONTEXT_DELETED`` and ``TRIMMED`` (a subscription ended; see docs/python.md).
    ``status`` is the HTTP status, or the WebSocket close code, when there was one.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: Optional[int] = None,
        details: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details: dict[str, Any] = dict(details or {})

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed later (the server was down, busy or starting)."""
        return self.code in RETRYABLE_CODES

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds to wait before retrying, when the server said (QUOTA_EXCEEDED)."""
        ms = self.details.get("retryAfterMs")
        return ms / 1000 if isinstance(ms, (int, float)) else None

    def __repr__(self) -> str:
        return f"EngramError(code={self.code!r}, status={self.status!r}, message={self.message!r})"


def is_retryable(err: BaseException) -> bool:
    """True for an :class:`EngramError` whose request may succeed when sent again unchanged."""
    return isinstance(err, EngramError) and err.retryable


def error_from_body(status: int, text: str, what: str) -> EngramError:
    """The error of a refused request, from the server's envelope ``{"error": {code, message, details}}``."""
    try:
        envelope = json.loads(text) if text else None
    except ValueError:
        envelope = None
    err = envelope.get("error") if isinstance(envelope, dict) else None
    if isinstance(err, dict) and isinstance(err.get("code"), str):
        details = err.get("details")
        return EngramError(
            err["code"],
            str(err.get("message", "")),
            status,
            details if isinstance(details, dict) else None,
        )
    return EngramError(_code_of_status(status), f"{what}: HTTP {status}", status)


def _code_of_status(status: int) -> str:
    # Only for answers without Engram's envelope (a proxy in between, say).
    if status == 401:
        return "UNAUTHENTICATED"
    if status == 403:
        return "FORBIDDEN"
    if status == 404:
        return "NOT_FOUND"
    if status == 429:
        return "QUOTA_EXCEEDED"
    if status in (502, 503, 504):
        return "UNAVAILABLE"
    return "INTERNAL"
