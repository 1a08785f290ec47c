"""Redis-backed state shared by every gateway replica."""
from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import Sequence

import redis
import redis.asyncio as aioredis
from django.conf import settings

from apps.core.state.base import COOLDOWN_PREFIX

PREFIX = "tollgate:"
# new = old*(1-w) + sample*w, or the sample itself when there is no old value.
AVERAGE_SCRIPT = """
local old = redis.call('GET', KEYS[1])
local value = tonumber(ARGV[1])
if old then value = tonumber(old) * (1 - tonumber(ARGV[2])) + value * tonumber(ARGV[2]) end
redis.call('SET', KEYS[1], tostring(value), 'PX', ARGV[3])
return tostring(value)
"""
# Keep the later deadline: re-cooling extends a cooldown, it never shortens one (LiteLLM #40130).
COOLDOWN_SCRIPT = """
local old = redis.call('GET', KEYS[1])
if (not old) or tonumber(ARGV[1]) > tonumber(old) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return old
"""


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisState:
    """State in Redis: one async client per event loop for the hot path, one sync client for writers."""

    def __init__(self) -> None:
        self.url: str = settings.REDIS_URL or ""
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()
        self._sync: redis.Redis | None = None

    @property
    def aio(self) -> aioredis.Redis:
        # One per loop: a client binds to the loop that first uses it (Celery tasks run their own loops).
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(self.url, health_check_interval=30)
            self._async[loop] = client
        return client

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

    async def values(self, keys: Sequence[str]) -> list[float | None]:
        if not keys:
            return []
        found = await self.aio.mget([PREFIX + key for key in keys])
        return [None if value is None else float(value) for value in found]

    async def add(self, items: Sequence[tuple[str, float, float]]) -> list[float]:
        if not items:
            return []
        pipe = self.aio.pipeline(transaction=True)
        for key, amount, ttl in items:
            pipe.incrbyfloat(PREFIX + key, amount)
            pipe.pexpire(PREFIX + key, _ms(ttl))
        results = await pipe.execute()
        return [float(value) for value in results[::2]]

    async def average(self, key: str, sample: float, *, weight: float, ttl: float) -> float:
        value = await self.aio.eval(AVERAGE_SCRIPT, 1, PREFIX + key, repr(sample), repr(weight), _ms(ttl))
        return float(value)

    async def cooldown_start(self, name: str, seconds: float) -> float:
        deadline = time.time() + seconds
        value = await self.aio.eval(COOLDOWN_SCRIPT, 1, PREFIX + COOLDOWN_PREFIX + name, repr(deadline), _ms(seconds))
        return float(value)

    async def cooldowns(self, names: Sequence[str]) -> dict[str, float]:
        found = await self.values([COOLDOWN_PREFIX + name for name in names])
        now = time.time()
        return {name: deadline for name, deadline in zip(names, found) if deadline is not None and deadline > now}
