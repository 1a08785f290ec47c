"""Redis-backed state shared by every gateway replica."""
from __future__ import annotations

import redis
import redis.asyncio as aioredis
from django.conf import settings

PREFIX = "tollgate:"


class RedisState:
    """State in Redis: one async client per process for the hot path, one sync client for writers."""

    def __init__(self) -> None:
        self.url: str = settings.REDIS_URL or ""
        self._async: aioredis.Redis | None = None
        self._sync: redis.Redis | None = None

    @property
    def aio(self) -> aioredis.Redis:
        # Created lazily: the client binds to the event loop that first uses it.
        if self._async is None:
            self._async = aioredis.Redis.from_url(self.url, health_check_interval=30)
        return self._async

    @property
    def sync(self) -> redis.Redis:
        if self._sync is None:
            self._sync = redis.Redis.from_url(self.url)
        return self._sync

    async def generation(self, name: str) -> int:
        value = await self.aio.get(f"{PREFIX}gen:{name}")
        return int(value or 0)

    def bump_generation(self, name: str) -> int:
        return int(self.sync.incr(f"{PREFIX}gen:{name}"))

    async def ping(self) -> None:
        await self.aio.ping()
