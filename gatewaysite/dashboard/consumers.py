"""The live calls-per-second feed: a WebSocket that pushes what every gateway process counted, once a second.

A viewer must be logged in (the session cookie) as staff or a team admin; a team admin is sent its teams'
counts only. The first message holds the last minute; each later one the second that just ended.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.teams.live_feed import feed_seconds
from gatewaysite.dashboard.viewer import Viewer, viewer_for

HISTORY_SECONDS = 60
TICK_SECONDS = 1.0
SETTLE_MARGIN = 0.15  # seconds past a second's end before reading it: counters reach the backend within ~30 ms


@database_sync_to_async
def scope_viewer(user: Any) -> Viewer | None:
    return viewer_for(user) if user is not None and user.is_authenticated else None


class LiveFeedConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Pushes {"seconds": [{"second", "calls", "errors", "refused"}, ...]} every second."""

    ticker: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        viewer = await scope_viewer(self.scope.get("user"))
        if viewer is None:
            await self.close(code=4403)
            return
        await self.accept()
        self.ticker = asyncio.get_running_loop().create_task(self.tick(viewer))

    async def disconnect(self, code: int) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.ticker

    async def tick(self, viewer: Viewer) -> None:
        last = HISTORY_SECONDS
        while True:
            seconds = await feed_seconds(last=last, team_ids=viewer.team_ids)
            await self.send_json({"seconds": [asdict(s) for s in seconds]})
            last = 1
            await asyncio.sleep(TICK_SECONDS - (time.time() - SETTLE_MARGIN) % TICK_SECONDS)
