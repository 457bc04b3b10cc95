"""What both clients are configured with: the server, who they are, and their patience."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, Optional

from .streams import Backoff, StreamTarget

DEFAULT_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Settings:
    base: str
    headers: Dict[str, str]
    agent_id: Optional[str]
    timeout: float
    backoff: Backoff

    @property
    def stream_target(self) -> StreamTarget:
        ws_base = "ws" + self.base[len("http"):] if self.base.startswith("http") else self.base
        return StreamTarget(ws_base, dict(self.headers), self.timeout)


def make_settings(
    url: Optional[str],
    token: Optional[str],
    api_key: Optional[str],
    client_id: Optional[str],
    agent_id: Optional[str],
    timeout: float,
    backoff: Optional[Backoff],
) -> Settings:
    base = (url or os.environ.get("ENGRAM_URL") or DEFAULT_URL).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"url: expected http:// or https://, got {base!r}")
    headers: Dict[str, str] = {}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if api_key is not None:
        headers["x-api-key"] = api_key
    if client_id is not None:
        headers["x-client-id"] = client_id
    return Settings(base, headers, agent_id, timeout, backoff or Backoff())
