"""The agent routes: `/v1/agents` (management and discovery) and `/a2a/{agent_id}` (A2A, both bindings, the card)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.http.response import HttpResponseBase
from django.urls import path
from django.views.decorators.http import require_http_methods

from apps.agents import a2a_api, agents_api
from apps.agents.rest import REST_ROUTES

A2A = "a2a/<str:agent_id>"
View = Callable[..., HttpResponseBase]


def async_view(view: Callable[..., Any]) -> View:
    """An async view as `path()` types it (Django awaits coroutine views)."""
    return cast(View, view)


def rest_path(suffix: str) -> str:
    return A2A + suffix.replace("{task_id}", "<str:task_id>").replace("{config_id}", "<str:config_id>")


urlpatterns = [
    path("v1/agents", async_view(agents_api.agents_view)),
    path("v1/agents/<str:agent_id>", async_view(agents_api.agent_view)),
    path(A2A, async_view(a2a_api.jsonrpc_view)),
    path(A2A + "/", async_view(a2a_api.jsonrpc_view)),  # JSON-RPC clients post to the interface URL with a trailing slash
    path(A2A + "/message/send", async_view(a2a_api.jsonrpc_view)),  # LiteLLM's aliases of the JSON-RPC endpoint
    path("v1/" + A2A + "/message/send", async_view(a2a_api.jsonrpc_view)),
    path(A2A + "/.well-known/agent-card.json", async_view(a2a_api.card_view)),
    path(A2A + "/.well-known/agent.json", async_view(a2a_api.card_view)),
    *[path(rest_path(suffix), async_view(require_http_methods(methods)(view))) for suffix, methods, view in REST_ROUTES],
]
