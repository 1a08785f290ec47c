"""What a realtime client's WebSocket handshake asks for: the key, the model, and what to pass upstream.

The key is read as OpenAI's clients send it: `Authorization: Bearer` (or `api-key` / `x-api-key`, as on every
`/v1` path), `?api_key=`, or a subprotocol `openai-insecure-api-key.<key>` (browsers cannot set headers).
The model is `?model=` (`?deployment=` on Azure's path). The subprotocol `realtime` is accepted when offered.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from apps.teams.auth import key_from_meta

KEY_SUBPROTOCOL = "openai-insecure-api-key."
BETA_SUBPROTOCOL = "openai-beta."  # `openai-beta.realtime-v1` = the header `OpenAI-Beta: realtime=v1`
ACCEPTED_SUBPROTOCOL = "realtime"


@dataclass(frozen=True, slots=True)
class RealtimeRequest:
    """A realtime handshake as the gateway reads it (the key is never logged)."""

    path: str
    model: str
    key: str | None
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    subprotocol: str | None = None  # the one to accept

    @property
    def meta(self) -> dict[str, object]:
        """The request as `apps.teams.auth.authenticate` reads headers (the key found anywhere, as Bearer)."""
        meta: dict[str, object] = {"PATH_INFO": self.path}
        if self.key is not None:
            meta["HTTP_AUTHORIZATION"] = f"Bearer {self.key}"
        return meta


def header_key(headers: Mapping[str, str]) -> str | None:
    """The key from `Authorization: Bearer`, `api-key` or `x-api-key`, read as on every `/v1` path."""
    return key_from_meta({f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()})


def realtime_request(scope: Mapping[str, Any]) -> RealtimeRequest:
    """The handshake of this ASGI WebSocket scope."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", ())}
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    offered = [str(name) for name in scope.get("subprotocols", ())]
    key = header_key(headers) or query.get("api_key") or next(
        (name[len(KEY_SUBPROTOCOL):] for name in offered if name.startswith(KEY_SUBPROTOCOL)), None)
    beta = next((name[len(BETA_SUBPROTOCOL):] for name in offered if name.startswith(BETA_SUBPROTOCOL)), None)
    if beta and "openai-beta" not in headers:
        headers["openai-beta"] = beta.replace("-", "=", 1)  # realtime-v1 -> realtime=v1
    return RealtimeRequest(path=str(scope.get("path", "")), model=query.get("model") or query.get("deployment") or "",
                           key=key or None, query=query, headers=headers,
                           subprotocol=ACCEPTED_SUBPROTOCOL if ACCEPTED_SUBPROTOCOL in offered else None)
