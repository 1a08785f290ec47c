"""The hook through which code running inside a gateway session (an agent's turn) sends its SDK calls through
the gateway: `acompletion` asks the session set here instead of calling the provider directly, so the call is
routed, metered and billed to the session's caller. The layer above sets it; this one never learns who."""
from __future__ import annotations

from collections.abc import AsyncGenerator
from contextvars import ContextVar
from typing import Any, Protocol


class SessionCalls(Protocol):
    async def acompletion(self, model: str, messages: list[dict[str, Any]], *, stream: bool,
                          options: dict[str, Any]) -> Any | AsyncGenerator[Any, None]: ...


current_session: ContextVar[SessionCalls | None] = ContextVar("tollgate_sdk_session", default=None)
