"""Redis-backed state shared by every gateway replica.

The async methods (the /v1 hot path) go through `resp.Client`, one multiplexed connection per event loop;
the sync writers (admin edits, the spend flush, generation bumps) use redis-py. REDIS_URL may name one server,
a Sentinel-watched master or a Cluster (apps/core/state/topology.py); the lean client for the last two is
`sentinel.SentinelClient` or `cluster.ClusterClient`, chosen once, so one server's commands take no extra step.

Every script's keys share one slot, for Cluster: the ledgers and leases hashes of all levels carry the hash tag
LEDGER_TAG (one admit checks a key's, team's and organization's levels atomically, so they cannot be spread
over nodes). Counters, cooldowns, generations and the spend buffer are single keys, spread over the nodes.
"""
from __future__ import annotations

import asyncio
import math
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, cast

import redis
from django.conf import settings
from redis.exceptions import NoScriptError

from apps.core.state.base import COOLDOWN_PREFIX, Admission, LeaseGrant, LeaseReport, LedgerLimits, Settlement
from apps.core.state.resp import Client, Script, Timeouts, parse_url
from apps.core.state.topology import Topology, parse_topology, sync_client

PREFIX = "tollgate:"
LEDGER_TAG = "{ledger}"  # one Cluster slot for every ledger and leases hash (see the module docstring)
SPEND_BUFFER = f"{PREFIX}spend:buffer"
FLUSH_LOCK = f"{PREFIX}spend:flush-lock"
ADD_SOON_DELAY = 0.02  # `add_soon` counters reach Redis with this process's next round trip, or after this
SCRIPTS = Path(__file__).with_name("scripts")
PRELUDE = (SCRIPTS / "ledger.lua").read_text()
ADMIT = Script.of(PRELUDE + (SCRIPTS / "admit.lua").read_text())
SETTLE = Script.of(PRELUDE + (SCRIPTS / "settle.lua").read_text())
LEASES_TTL = 3600  # seconds a level's leases hash outlives its last change (past any lease and its grace)
LEASE_PRELUDE = PRELUDE + f"local LEASES_TTL = {LEASES_TTL}\n" + (SCRIPTS / "leases.lua").read_text()
LEASE_GRANT = Script.of(LEASE_PRELUDE + (SCRIPTS / "lease_grant.lua").read_text())
LEASE_ADJUST = Script.of(LEASE_PRELUDE + (SCRIPTS / "lease_adjust.lua").read_text())
SET_SPEND = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end return 1"
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

# new = old*(1-w) + sample*w, or the sample itself when there is no old value.
AVERAGE = Script.of("""
local old = redis.call('GET', KEYS[1])
local value = tonumber(ARGV[1])
if old then value = tonumber(old) * (1 - tonumber(ARGV[2])) + value * tonumber(ARGV[2]) end
redis.call('SET', KEYS[1], tostring(value), 'PX', ARGV[3])
return tostring(value)
""")
# Keep the later deadline: re-cooling extends a cooldown, it never shortens one (LiteLLM #40130).
COOLDOWN = Script.of("""
local old = redis.call('GET', KEYS[1])
if (not old) or tonumber(ARGV[1]) > tonumber(old) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return old
""")


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def ledger_key(name: str, *, cluster: bool = False) -> str:
    """A ledger's hash. Outside a Cluster the name is the one releases before Cluster support used, so during a
    rolling upgrade old and new replicas keep holding one ledger (two would each let the whole budget through)."""
    return f"{PREFIX}{LEDGER_TAG}:{name}" if cluster else f"{PREFIX}ledger:{name}"


def leases_key(name: str, *, cluster: bool = False) -> str:
    return f"{PREFIX}{LEDGER_TAG}:leases:{name}" if cluster else f"{PREFIX}leases:{name}"


def report_args(report: LeaseReport, now: float, *, cluster: bool) -> tuple[list[str], list[str]]:
    """The keys and arguments of one lease report's LEASE_ADJUST."""
    ledger = report.level.ledger
    return [ledger_key(ledger, cluster=cluster), leases_key(ledger, cluster=cluster)], [
        f"{now:.6f}", report.holder, str(report.spend), str(report.release), str(report.tokens),
        str(report.rpm_back), str(report.tpm_back), str(report.minute), f"{report.expires:.6f}",
        *level_args([report.level])]


def raise_first(replies: list[Any]) -> list[Any]:
    """The replies, or the first error among them raised (redis-py's pipeline default)."""
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def settle_args(levels: Sequence[LedgerLimits], *, reserved: int, actual: int, tokens: int, now: float,
                clipped: str) -> list[str]:
    return [f"{now:.6f}", str(reserved), str(actual), str(tokens), clipped or "-", *level_args(levels)]


def level_args(levels: Sequence[LedgerLimits]) -> list[str]:
    """Six script arguments per level; -1 stands for "no limit"."""
    args: list[str] = []
    for level in levels:
        for value in (level.max_budget, level.seed_spend, level.window_end, level.rpm_limit, level.tpm_limit,
                      level.max_parallel):
            args.append("-1" if value is None else (f"{value:.6f}" if isinstance(value, float) else str(value)))
    return args


def lean_client_factory(topology: Topology, timeouts: Timeouts) -> Callable[[], Client]:
    """What makes an event loop's lean client: Client for one server, else the Sentinel or Cluster client."""
    if topology.kind == "sentinel":
        from apps.core.state.sentinel import SentinelClient

        return partial(SentinelClient, topology, timeouts=timeouts)
    if topology.kind == "cluster":
        from apps.core.state.cluster import ClusterClient

        return cast(Callable[[], Client], partial(ClusterClient, topology, timeouts=timeouts))
    return partial(Client, parse_url(topology.url), timeouts=timeouts)


class RedisState:
    """State in Redis: one multiplexed connection per event loop for the hot path, redis-py for sync writers."""

    in_process = False

    def __init__(self, url: str | None = None) -> None:
        self.url: str = url or settings.REDIS_URL or ""
        self.topology: Topology = parse_topology(self.url)
        self.cluster = self.topology.kind == "cluster"
        self.timeouts = Timeouts(connect=settings.TOLLGATE_REDIS_CONNECT_TIMEOUT,
                                 reply=settings.TOLLGATE_REDIS_COMMAND_TIMEOUT,
                                 health_check=settings.TOLLGATE_REDIS_HEALTH_CHECK_INTERVAL)
        self._new_client = lean_client_factory(self.topology, self.timeouts)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Client] = weakref.WeakKeyDictionary()
        self._sync: redis.Redis | None = None
        # Counter increments waiting for the next round trip, per event loop: {key: [amount, ttl]}.
        self._pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, list[float]]] = (
            weakref.WeakKeyDictionary())
        self._flush_timers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.TimerHandle] = (
            weakref.WeakKeyDictionary())
        self._flushes: set[asyncio.Task[None]] = set()

    @property
    def client(self) -> Client:
        # One client per event loop: a connection belongs to the loop that opened it (Celery tasks run their own
        # loops). A client refers to its loop, so the weak keys never drop it: closed loops' clients go here.
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for closed in [other for other in self._clients if other.is_closed()]:
                del self._clients[closed]
            client = self._clients[loop] = self._new_client()
        return client

    @property
    def sync(self) -> redis.Redis:
        """redis-py for the sync writers, with the async client's clocks: a Redis that stops answering fails a
        flush or an admin save after the command timeout instead of hanging it, and a connection idle past the
        health-check interval is PINGed (and replaced) before its next command. Only short commands go here."""
        if self._sync is None:
            self._sync = sync_client(
                self.topology, socket_connect_timeout=self.timeouts.connect, socket_timeout=self.timeouts.reply,
                socket_keepalive=True, health_check_interval=self.timeouts.health_check)
        return self._sync

    async def generation(self, name: str) -> int:
        value = await self.client.execute("GET", f"{PREFIX}gen:{name}")
        return int(value or 0)

    def bump_generation(self, name: str) -> int:
        return int(self.sync.incr(f"{PREFIX}gen:{name}"))

    async def ping(self) -> None:
        await self.client.execute("PING")

    async def values(self, keys: Sequence[str]) -> list[float | None]:
        if not keys:
            return []
        mget = ("MGET", *[PREFIX + key for key in keys])
        if self._pending.get(asyncio.get_running_loop()):
            found = raise_first(await self.client.pipeline([*self._take_pending(), mget]))[-1]
        else:
            found = await self.client.execute(*mget)
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

    def _take_pending(self) -> list[tuple[str, ...]]:
        """The running loop's pending `add_soon` increments as commands; they are no longer pending."""
        loop = asyncio.get_running_loop()
        pending = self._pending.pop(loop, None) or {}
        timer = self._flush_timers.pop(loop, None)
        if timer is not None:
            timer.cancel()
        commands: list[tuple[str, ...]] = []
        for key, (amount, ttl) in pending.items():
            commands.append(("INCRBYFLOAT", PREFIX + key, repr(amount)))
            commands.append(("PEXPIRE", PREFIX + key, str(_ms(ttl))))
        return commands

    def _flush_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flush_timers.pop(loop, None)
        task = loop.create_task(self.add_flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def add_flush(self) -> None:
        """Send the running loop's pending `add_soon` counters now (timer, shutdown, tests)."""
        if self._pending.get(asyncio.get_running_loop()):
            raise_first(await self.client.pipeline(self._take_pending()))

    async def add(self, items: Sequence[tuple[str, float, float]]) -> list[float]:
        if not items:
            return []
        commands: list[tuple[str, ...]] = [("MULTI",)]
        for key, amount, ttl in items:
            commands.append(("INCRBYFLOAT", PREFIX + key, repr(amount)))
            commands.append(("PEXPIRE", PREFIX + key, str(_ms(ttl))))
        commands.append(("EXEC",))
        results = raise_first(raise_first(await self.client.pipeline(commands))[-1])
        return [float(value) for value in results[::2]]

    async def average(self, key: str, sample: float, *, weight: float, ttl: float) -> float:
        value = await self.client.script(AVERAGE, [PREFIX + key], [repr(sample), repr(weight), str(_ms(ttl))])
        return float(value)

    async def cooldown_start(self, name: str, seconds: float) -> float:
        deadline = time.time() + seconds
        key = PREFIX + COOLDOWN_PREFIX + name
        value = await self.client.script(COOLDOWN, [key], [repr(deadline), str(_ms(seconds))])
        return float(value)

    async def cooldowns(self, names: Sequence[str]) -> dict[str, float]:
        found = await self.values([COOLDOWN_PREFIX + name for name in names])
        now = time.time()
        return {name: deadline for name, deadline in zip(names, found) if deadline is not None and deadline > now}

    async def admit(self, levels: Sequence[LedgerLimits], *, amount: int, now: float) -> Admission:
        keys = [ledger_key(level.ledger, cluster=self.cluster) for level in levels]
        result = await self.client.script(ADMIT, keys, [f"{now:.6f}", str(amount), *level_args(levels)])
        if int(result[0]) == 1:
            return Admission(True, reserved=int(result[1]), clipped=result[2].decode())
        return Admission(False, index=int(result[1]), reason=result[2].decode(), spend=int(result[3]),
                         limit=int(result[4]), retry_after=int(result[5]))

    async def settle(self, levels: Sequence[LedgerLimits], *, reserved: int, actual: int, tokens: int,
                     now: float, clipped: str = "") -> None:
        keys = [ledger_key(level.ledger, cluster=self.cluster) for level in levels]
        await self.client.script(SETTLE, keys, settle_args(levels, reserved=reserved, actual=actual, tokens=tokens,
                                                            now=now, clipped=clipped))

    async def lease_grant(self, level: LedgerLimits, *, holder: str, wanted: LeaseGrant, least: LeaseGrant,
                          expires: float, share: int, grace: float, now: float) -> LeaseGrant | None:
        keys = [ledger_key(level.ledger, cluster=self.cluster), leases_key(level.ledger, cluster=self.cluster)]
        args = [f"{now:.6f}", holder, str(wanted.budget), str(wanted.rpm), str(wanted.tpm), str(least.budget),
                str(least.rpm), str(least.tpm), f"{expires:.6f}", str(share), f"{grace:.3f}", *level_args([level])]
        result = await self.client.script(LEASE_GRANT, keys, args)
        if int(result[0]) != 1:
            return None
        return LeaseGrant(budget=int(result[1]), rpm=int(result[2]), tpm=int(result[3]))

    def ledger_spend(self, name: str) -> int | None:
        value = self.sync.hget(ledger_key(name, cluster=self.cluster), "spent")
        return None if value is None else int(value)

    def ledger_set_spend(self, name: str, spend: int) -> None:
        self.sync.eval(SET_SPEND, 1, ledger_key(name, cluster=self.cluster), str(spend))

    async def spend_push(self, record: bytes) -> None:
        await self.client.execute("RPUSH", SPEND_BUFFER, record)

    async def settle_and_push(self, levels: Sequence[LedgerLimits], records: Sequence[bytes], *, reserved: int,
                              actual: int, tokens: int, now: float, clipped: str = "") -> None:
        """`settle` (when there are levels) and `spend_push` of every record, in one round trip."""
        await self.settle_and_push_many([Settlement(levels, records, reserved=reserved, actual=actual, tokens=tokens,
                                                    now=now, clipped=clipped)])

    async def settle_and_push_many(self, settlements: Sequence[Settlement],
                                   reports: Sequence[LeaseReport] = ()) -> None:
        """Pending counters, every settle script, every lease report and one RPUSH of every record, in one
        pipeline."""
        client = self.client
        commands: list[tuple[str | bytes | int, ...]] = list(self._take_pending())
        settles: dict[int, tuple[Script, list[str], list[str]]] = {}  # pipeline position -> script, keys, args

        def evalsha(script: Script, keys: list[str], args: list[str]) -> None:
            settles[len(commands)] = (script, keys, args)
            commands.append(("EVALSHA", script.sha, len(keys), *keys, *args))

        now = time.time()
        for report in reports:
            evalsha(LEASE_ADJUST, *report_args(report, now, cluster=self.cluster))
        records: list[bytes] = []
        for item in settlements:
            records.extend(item.records)
            if item.levels:
                evalsha(SETTLE, [ledger_key(level.ledger, cluster=self.cluster) for level in item.levels],
                        settle_args(item.levels, reserved=item.reserved, actual=item.actual, tokens=item.tokens,
                                    now=item.now, clipped=item.clipped))
        if records:
            commands.append(("RPUSH", SPEND_BUFFER, *records))
        results = await client.pipeline(commands)
        for position, settle in settles.items():
            if isinstance(results[position], NoScriptError):
                # The script cache was flushed: EVAL runs this settle and loads the script. Only the settles that
                # failed run again (another connection may have loaded it between two of ours).
                results[position] = await client.script(*settle)
        raise_first(results)

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
        seconds = int(settings.TOLLGATE_SPEND_FLUSH_LOCK_SECONDS)
        acquired = bool(self.sync.set(FLUSH_LOCK, token, nx=True, ex=seconds))
        try:
            yield acquired
        finally:
            if acquired:
                self.sync.eval(RELEASE, 1, FLUSH_LOCK, token)
