"""WebSocket routes (the realtime API and dashboard feeds land here)."""
from __future__ import annotations

from typing import Any

from django.urls import re_path

from apps.routing.realtime.consumer import RealtimeConsumer

# OpenAI's `/v1/realtime?model=` (also without `/v1`, as LiteLLM serves it) and Azure's `/openai/realtime?deployment=`.
websocket_urlpatterns: list[Any] = [
    re_path(r"^(?:v1/|openai/(?:v1/)?)?realtime/?$", RealtimeConsumer.as_asgi()),
]
