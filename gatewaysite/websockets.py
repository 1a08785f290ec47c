"""WebSocket routes (the realtime API and dashboard feeds land here)."""
from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
