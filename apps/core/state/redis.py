"""Redis-backed state shared by every gateway replica."""
from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import redis
import redis.asyncio as aioredis
from django.conf import settings

from apps.core.state.base import Admission, LedgerLimits

PREFIX = "tollgate:"
SPEND_BUFFER = f"{PREFIX}spend:buffer"
FLUSH_LOCK = f"{PREFIX}spend:flush-lock"
FLUSH_LOCK_SECONDS = 300
MAX_CONNECTIONS = 128
SCRIPTS = Path(__file__).with_name("scripts")
PRELUDE = (SCRIPTS / "ledger.lua").read_text()
ADMIT = PRELUDE + (SCRIPTS / "admit.lua").read_text()
SETTLE = PRELUDE + (SCRIPTS / "settle.lua").read_text()
SET_SPEND = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end return 1"
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


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
    """State in Redis: one async client per process for the hot path, one sync client for writers."""

    def __init__(self) -> None:
        self.url = settings.REDIS_URL
        self._async: aioredis.Redis | None = None
        self._sync: redis.Redis | None = None
        self._admit: object | None = None
        self._settle: object | None = None

    @property
    def aio(self) -> aioredis.Redis:
        # Created lazily: the client binds to the event loop that first uses it.
        if self._async is None:
            # A blocking pool: past MAX_CONNECTIONS a burst waits for a free connection instead of failing.
            pool = aioredis.BlockingConnectionPool.from_url(self.url, max_connections=MAX_CONNECTIONS, timeout=10,
                                                            health_check_interval=30)
            self._async = aioredis.Redis(connection_pool=pool)
            self._admit = self._async.register_script(ADMIT)
            self._settle = self._async.register_script(SETTLE)
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

    def spend_peek(self, count: int) -> list[bytes]:
        return list(self.sync.lrange(SPEND_BUFFER, 0, count - 1))

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
