"""Models that are not deployments: a prefix (`a2a/`) whose chat calls a higher layer serves, registered at start.

Routing never imports that layer; it asks the registered bridge only for a model no deployment serves, so
calls to real models do no extra work."""
from __future__ import annotations

from typing import Protocol

from apps.providers.base import ChatCall, ChatCompletion
from apps.providers.transport import ChatStream
from apps.routing.parsing import CallOptions
from apps.routing.router import Served
from apps.teams.auth import Principal


class ChatBridge(Protocol):
    """Serves chat calls for the models under one prefix."""

    async def complete(self, principal: Principal, call: ChatCall, options: CallOptions, *,
                       request_id: str) -> Served[ChatCompletion]: ...

    async def stream(self, principal: Principal, call: ChatCall, options: CallOptions, *,
                     request_id: str) -> Served[ChatStream]: ...


_bridges: dict[str, ChatBridge] = {}


def register_chat_bridge(prefix: str, bridge: ChatBridge) -> None:
    """Serve chat calls to `<prefix>/<name>` models with `bridge` (an app's `ready()` calls this)."""
    _bridges[prefix.rstrip("/")] = bridge


def bridge_for(model: str) -> ChatBridge | None:
    """The bridge for a model no deployment serves, if its prefix has one."""
    prefix, slash, _ = model.partition("/")
    return _bridges.get(prefix) if slash else None
