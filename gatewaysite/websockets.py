"""WebSocket routes (the realtime API and dashboard feeds land here)."""
from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from gatewaysite.dashboard.consumers import LiveFeedConsumer

websocket_urlpatterns: list[Any] = [
    # The session cookie logs the viewer in; the Origin check keeps other sites' pages from opening it.
    path("dashboard/feed/", AllowedHostsOriginValidator(AuthMiddlewareStack(LiveFeedConsumer.as_asgi()))),
]
