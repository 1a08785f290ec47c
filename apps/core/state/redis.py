"""Redis-backed state shared by every gateway replica."""
from __future__ import annotations

import asyncio
import math
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import redis
import redis.asyncio as aioredis
from django.conf import settings

from apps.core.state.base import COOLDOWN_PREFIX, Admission, LedgerLimits, Settlement

PREFIX = "tollgate:"
SPEND_BUFFER = f"{PREFIX}spend:buffer"
FLUSH_LOCK = f"{PREFIX}spend:flush-lock"
FLUSH_LOCK_SECONDS = 300
MAX_CONNECTIONS = 128
ADD_SOON_DELAY = 0.02  # `add_soon` counters reach Redis with this process's next round trip, or after this
SCRIPTS = Path(__file__).with_name("scripts")
PRELUDE = (SCRIPTS / "ledger.lua").read_text()
ADMIT = PRELUDE + (SCRIPTS / "admit.lua").read_text()
SETTLE = PRELUDE + (SCRIPTS / "settle.lua").read_text()
SET_SPEND = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end return 1"
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

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


def ledger_key(name: str) -> str:
    return f"{PREFIX}ledger:{name}"


def level_args(levels: Sequence[LedgerLimits]) -> list[str]:
    """Six script arguments per level; -1 stands for "no limit"."""
    args: list[str] = []
    for level in levels:
        for value in (level.max_budget, level.seed_spend, level.window_end, level.rpm_limit, level.tpm_limit,
                      level.max_parallel):
            args.append("-1" if value is None else (f"{value:.6f}" if isinstance(value, float) else str(value)))
    return args


class RedisState:
    """State in Redis: one async client per event loop for the hot path, one sync client for writers."""

    in_process = False

    def __init__(self) -> None:
        self.url: str = settings.REDIS_URL or ""
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()
        self._sync: redis.Redis | None = None
        self._admit: object | None = None
        self._settle: object | None = None
        # Counter increments waiting for the next round trip, per event loop: {key: [amount, ttl]}.
        self._pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, list[float]]] = (
            weakref.WeakKeyDictionary())
        self._flush_timers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.TimerHandle] = (
            weakref.WeakKeyDictionary())
        self._flushes: set[asyncio.Task[None]] = set()

    @property
    def aio(self) -> aioredis.Redis:
        # One client per event loop (a client binds to the loop that first uses it; Celery tasks run
        # their own loops), each on a blocking pool: past MAX_CONNECTIONS a burst waits instead of failing.
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            pool: aioredis.BlockingConnectionPool = aioredis.BlockingConnectionPool.from_url(self.url, max_connections=MAX_CONNECTIONS, timeout=10,
                                                            health_check_interval=30)
            client = aioredis.Redis(connection_pool=pool)
            self._async[loop] = client
            if self._admit is None:
                # Scripts are called with an explicit client, so one registration serves every loop.
                self._admit = client.register_script(ADMIT)
                self._settle = client.register_script(SETTLE)
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
        names = [PREFIX + key for key in keys]
        if self._pending.get(asyncio.get_running_loop()):
            pipe = self.aio.pipeline(transaction=False)
            self._queue_pending(pipe)
            pipe.mget(names)
            found = (await pipe.execute())[-1]
        else:
            found = await self.aio.mget(names)
        return [None if value is None else float(value) for value in found]

    def add_soon(self, items: Sequence[tuple[str, float, float]]) -> None:
        """Like `add`, without waiting: sent with this process's next round trip (or within ADD_SOON_DELAY)."""
        loop = asyncio.get_running_loop()
        pending = self._pending.setdefault(loop, {})
        for key, amount, ttl in items:
            entry = pending.get(key)
            if entry is None:
                pending[key] = [amount, ttl]
            else:
                entry[0] += amount
                entry[1] = max(entry[1], ttl)
        if loop not in self._flush_timers:
            self._flush_timers[loop] = loop.call_later(ADD_SOON_DELAY, self._flush_soon, loop)

    def _queue_pending(self, pipe: aioredis.client.Pipeline) -> None:
        loop = asyncio.get_running_loop()
        pending = self._pending.pop(loop, None) or {}
        timer = self._flush_timers.pop(loop, None)
        if timer is not None:
            timer.cancel()
        for key, (amount, ttl) in pending.items():
            pipe.incrbyfloat(PREFIX + key, amount)
            pipe.pexpire(PREFIX + key, _ms(ttl))

    def _flush_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flush_timers.pop(loop, None)
        task = loop.create_task(self.add_flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def add_flush(self) -> None:
        """Send the running loop's pending `add_soon` counters now (timer, shutdown, tests)."""
        if self._pending.get(asyncio.get_running_loop()):
            pipe = self.aio.pipeline(transaction=False)
            self._queue_pending(pipe)
            await pipe.execute()

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

    async def admit(self, levels: Sequence[LedgerLimits], *, amount: int, now: float) -> Admission:
        client = self.aio
        keys = [ledger_key(level.ledger) for level in levels]
        args = [f"{now:.6f}", str(amount), *level_args(levels)]
        result = await self._admit(keys=keys, args=args, client=client)  # type: ignore[misc,operator]
        if int(result[0]) == 1:
            return Admission(True, reserved=int(result[1]), clipped=result[2].decode())
        return Admission(False, index=int(result[1]), reason=result[2].decode(), spend=int(result[3]),
                         limit=int(result[4]), retry_after=int(result[5]))

    async def settle(self, levels: Sequence[LedgerLimits], *, reserved: int, actual: int, tokens: int,
                     now: float, clipped: str = "") -> None:
        client = self.aio
        keys = [ledger_key(level.ledger) for level in levels]
        args = [f"{now:.6f}", str(reserved), str(actual), str(tokens), clipped or "-", *level_args(levels)]
        await self._settle(keys=keys, args=args, client=client)  # type: ignore[misc,operator]

    def ledger_spend(self, name: str) -> int | None:
        value = self.sync.hget(ledger_key(name), "spent")
        return None if value is None else int(value)

    def ledger_set_spend(self, name: str, spend: int) -> None:
        self.sync.eval(SET_SPEND, 1, ledger_key(name), str(spend))

    async def spend_push(self, record: bytes) -> None:
        await self.aio.rpush(SPEND_BUFFER, record)

    async def settle_and_push(self, levels: Sequence[LedgerLimits], records: Sequence[bytes], *, reserved: int,
                              actual: int, tokens: int, now: float, clipped: str = "") -> None:
        """`settle` (when there are levels) and `spend_push` of every record, in one round trip."""
        client = self.aio
        pipe = client.pipeline(transaction=False)
        self._queue_pending(pipe)
        if levels:
            settle = self._settle
            keys = [ledger_key(level.ledger) for level in levels]
            args = [f"{now:.6f}", str(reserved), str(actual), str(tokens), clipped or "-", *level_args(levels)]
            pipe.evalsha(settle.sha, len(keys), *keys, *args)  # type: ignore[union-attr]
        if records:
            pipe.rpush(SPEND_BUFFER, *records)
        results = await pipe.execute(raise_on_error=False)
        for result in results:
            if isinstance(result, redis.exceptions.NoScriptError):
                await settle(keys=keys, args=args, client=client)  # type: ignore[misc,operator]  # loads it, then runs
            elif isinstance(result, Exception):
                raise result

    async def settle_and_push_many(self, settlements: Sequence[Settlement]) -> None:
        """Every settle script and one RPUSH of every record, in one pipeline."""
        client = self.aio
        pipe = client.pipeline(transaction=False)
        self._queue_pending(pipe)
        settles: list[tuple[list[str], list[str]]] = []
        records: list[bytes] = []
        for item in settlements:
            records.extend(item.records)
            if item.levels:
                keys = [ledger_key(level.ledger) for level in item.levels]
                args = [f"{item.now:.6f}", str(item.reserved), str(item.actual), str(item.tokens),
                        item.clipped or "-", *level_args(item.levels)]
                settles.append((keys, args))
                pipe.evalsha(self._settle.sha, len(keys), *keys, *args)  # type: ignore[union-attr]
        if records:
            pipe.rpush(SPEND_BUFFER, *records)
        results = await pipe.execute(raise_on_error=False)
        for result in results:
            if isinstance(result, redis.exceptions.NoScriptError):
                # The script cache was flushed: run the settles again one by one (the first loads the script).
                for keys, args in settles:
                    await self._settle(keys=keys, args=args, client=client)  # type: ignore[misc,operator]
                break
            if isinstance(result, Exception):
                raise result

    def spend_peek(self, count: int) -> list[bytes]:
        return [bytes(item) if isinstance(item, bytes) else item.encode() for item in
                self.sync.lrange(SPEND_BUFFER, 0, count - 1)]

    def spend_ack(self, count: int) -> None:
        self.sync.ltrim(SPEND_BUFFER, count, -1)

    def spend_pending(self) -> int:
        return int(self.sync.llen(SPEND_BUFFER))

    @contextmanager
    def flush_lock(self) -> Iterator[bool]:
        token = uuid.uuid4().hex
        acquired = bool(self.sync.set(FLUSH_LOCK, token, nx=True, ex=FLUSH_LOCK_SECONDS))
        try:
            yield acquired
        finally:
            if acquired:
                self.sync.eval(RELEASE, 1, FLUSH_LOCK, token)
