"""WebSocket routes: the realtime API and the dashboard's live feed."""
from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path, re_path

from apps.routing.realtime.consumer import RealtimeConsumer
from gatewaysite.dashboard.consumers import LiveFeedConsumer

websocket_urlpatterns: list[Any] = [
    # OpenAI's `/v1/realtime?model=` (also without `/v1`, as LiteLLM serves it) and Azure's `/openai/realtime?deployment=`.
    re_path(r"^(?:v1/|openai/(?:v1/)?)?realtime/?$", RealtimeConsumer.as_asgi()),
    # The session cookie logs the viewer in; the Origin check keeps other sites' pages from opening it.
    path("dashboard/feed/", AllowedHostsOriginValidator(AuthMiddlewareStack(LiveFeedConsumer.as_asgi()))),
]
