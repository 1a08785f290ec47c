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
import logging
import math
import os
import socket
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import redis
from django.conf import settings
from redis.exceptions import NoScriptError

from apps.core.state.base import (
    COOLDOWN_PREFIX, Admission, LeaseGrant, LeaseReport, LedgerLimits, LostIntent, Settlement)
from apps.core.state.journal import CHECK_EVERY, SpendJournal
from apps.core.state.resp import Client, Script, Timeouts, parse_url
from apps.core.state.topology import Topology, parse_topology, sync_client

PREFIX = "tollgate:"
LEDGER_TAG = "{ledger}"  # one Cluster slot for every ledger and leases hash (see the module docstring)
SPEND_BUFFER = f"{PREFIX}spend:buffer"
FLUSH_LOCK = f"{PREFIX}spend:flush-lock"
# The buffer's counters (journal.py) share its Cluster slot: a key without braces hashes whole, so a tag naming
# the buffer puts a key in the buffer's slot.
SPEND_TAG = "{" + SPEND_BUFFER + "}"
SPEND_PUSHED = f"{PREFIX}spend:pushed{SPEND_TAG}"
SPEND_ACKED = f"{PREFIX}spend:acked{SPEND_TAG}"
SPEND_RUN = f"{PREFIX}spend:run{SPEND_TAG}"
SPEND_KEYS = [SPEND_BUFFER, SPEND_PUSHED, SPEND_ACKED, SPEND_RUN]
HEARTBEAT_EVERY = 2.0  # seconds between an event loop's "alive" marks while it has calls in flight (intents)
OWNER_TTL = 15.0  # an "alive" mark lasts this long: a loop silent for longer is dead, its intents are swept
logger = logging.getLogger("tollgate.spend")
ADD_SOON_DELAY = 0.02  # `add_soon` counters reach Redis with this process's next round trip, or after this
SCRIPTS = Path(__file__).with_name("scripts")
PRELUDE = (SCRIPTS / "ledger.lua").read_text()
ADMIT = Script.of(PRELUDE + (SCRIPTS / "admit.lua").read_text())
SETTLE = Script.of(PRELUDE + "local LEVELS = #KEYS\n" + (SCRIPTS / "settle.lua").read_text())
# A call with an intent settles only while its intent is there, deleting it (KEYS[#KEYS]: its owner's intents hash,
# ARGV[#ARGV]: its request id): a sweeper that took the owner for dead (its alive mark lapsed in a partition or a
# stall) settled it already, and a second release would free other calls' reservations.
SETTLE_INTENT = Script.of(PRELUDE + "local LEVELS = #KEYS - 1\n"
                          "if redis.call('HDEL', KEYS[#KEYS], ARGV[#ARGV]) == 0 then return 0 end\n"
                          + (SCRIPTS / "settle.lua").read_text())
LEASES_TTL = 3600  # seconds a level's leases hash outlives its last change (past any lease and its grace)
LEASE_PRELUDE = PRELUDE + f"local LEASES_TTL = {LEASES_TTL}\n" + (SCRIPTS / "leases.lua").read_text()
LEASE_GRANT = Script.of(LEASE_PRELUDE + (SCRIPTS / "lease_grant.lua").read_text())
LEASE_ADJUST = Script.of(LEASE_PRELUDE + (SCRIPTS / "lease_adjust.lua").read_text())
SPEND_PUSH = Script.of((SCRIPTS / "spend_push.lua").read_text())
SPEND_ACK = (SCRIPTS / "spend_ack.lua").read_text()
INTENT_SETTLE = PRELUDE + (SCRIPTS / "intent_settle.lua").read_text()
# An owner whose mark is gone and whose intents are all settled leaves the owners set.
OWNER_FORGET = ("if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('HLEN', KEYS[2]) == 0 then "
                "return redis.call('SREM', KEYS[3], ARGV[1]) end return 0")
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


def flush_lock_key(*, cluster: bool = False) -> str:
    """The flush lock; in a Cluster in the buffer's slot, so the fenced trim (SPEND_ACK) can check it."""
    return FLUSH_LOCK + SPEND_TAG if cluster else FLUSH_LOCK


def intent_keys(holder: str, *, cluster: bool = False) -> tuple[str, str, str]:
    """An intent owner's "alive" mark, its intents hash and the owners set: in the ledgers' slot, so settling a
    lost intent is one script with the ledgers it reserved at."""
    base = f"{PREFIX}{LEDGER_TAG}:" if cluster else PREFIX
    return f"{base}alive:{holder}", f"{base}intents:{holder}", f"{base}intent-owners"


@dataclass(slots=True)
class LoopIntents:
    """One event loop's intents: its owner name, intents to write and settled ones to delete with the next round
    trip, and when its "alive" mark is due again."""

    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{os.urandom(6).hex()}")
    opening: list[tuple[str, bytes]] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)
    beat_due: float = 0.0  # loop time; 0 = mark now
    sending: bool = False  # a send is scheduled for this loop turn
    unwritten: set[str] = field(default_factory=set)  # intents whose write failed: settled without the check

    def unwritten_pop(self, request_id: str) -> bool:
        """Whether the intent's write failed (forgetting it)."""
        if request_id in self.unwritten:
            self.unwritten.discard(request_id)
            return True
        return False


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
        self._journals: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SpendJournal] = (
            weakref.WeakKeyDictionary())
        self._journal_limit = settings.TOLLGATE_SPEND_JOURNAL_MAX
        self._intents: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopIntents] = weakref.WeakKeyDictionary()

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
        await self.settle_and_push_many([Settlement((), [record], reserved=0, actual=0, tokens=0, now=time.time())])

    async def settle_and_push(self, levels: Sequence[LedgerLimits], records: Sequence[bytes], *, reserved: int,
                              actual: int, tokens: int, now: float, clipped: str = "") -> None:
        """`settle` (when there are levels) and `spend_push` of every record, in one round trip."""
        await self.settle_and_push_many([Settlement(levels, records, reserved=reserved, actual=actual, tokens=tokens,
                                                    now=now, clipped=clipped)])

    async def settle_and_push_many(self, settlements: Sequence[Settlement],
                                   reports: Sequence[LeaseReport] = ()) -> None:
        """Pending counters and intents, every settle script, every lease report, the settled calls' intents
        deleted, and one SPEND_PUSH of every record, in one pipeline; the records are journaled until stored."""
        client = self.client
        commands: list[tuple[str | bytes | int, ...]] = list(self._take_pending())
        commands.extend(self._take_intents())
        settles: dict[int, tuple[Script, Sequence[str], Sequence[str | bytes]]] = {}  # position -> script, keys, args

        def evalsha(script: Script, keys: Sequence[str], args: Sequence[str | bytes]) -> None:
            settles[len(commands)] = (script, keys, args)
            commands.append(("EVALSHA", script.sha, len(keys), *keys, *args))

        now = time.time()
        for report in reports:
            evalsha(LEASE_ADJUST, *report_args(report, now, cluster=self.cluster))
        records: list[bytes] = []
        closing: list[str] = []
        intents = self._intents.get(asyncio.get_running_loop())
        hashed = intent_keys(intents.holder, cluster=self.cluster)[1] if intents is not None else ""
        for item in settlements:
            records.extend(item.records)
            written = bool(item.intent) and intents is not None and not intents.unwritten_pop(item.intent)
            if item.levels:
                keys = [ledger_key(level.ledger, cluster=self.cluster) for level in item.levels]
                args = settle_args(item.levels, reserved=item.reserved, actual=item.actual, tokens=item.tokens,
                                   now=item.now, clipped=item.clipped)
                if written:
                    evalsha(SETTLE_INTENT, [*keys, hashed], [*args, item.intent])
                else:
                    evalsha(SETTLE, keys, args)
            elif written:
                closing.append(item.intent)
        if intents is not None and (closing or intents.closing):
            closing, intents.closing = [*intents.closing, *closing], []
            commands.append(("HDEL", hashed, *closing))
        push = len(commands)
        if records:
            evalsha(SPEND_PUSH, SPEND_KEYS, [uuid.uuid4().hex, *records])
        try:
            results = await client.pipeline(commands)
            for position, settle in settles.items():
                if isinstance(results[position], NoScriptError):
                    # The script cache was flushed: EVAL runs this settle and loads the script. Only the settles
                    # that failed run again (another connection may have loaded it between two of ours).
                    results[position] = await client.script(*settle)
            raise_first(results)
        except BaseException:
            if intents is not None and closing:
                intents.closing[:0] = closing  # deleted with the next round trip that gets through
            raise
        if records:
            self._journaled(records, results[push])

    def _journal(self) -> SpendJournal:
        loop = asyncio.get_running_loop()
        journal = self._journals.get(loop)
        if journal is None:
            journal = self._journals[loop] = SpendJournal(self._journal_limit)
        return journal

    def _journaled(self, records: list[bytes], reply: list[Any]) -> None:
        """Keep the pushed records until the flusher stores them; push again what Redis lost (journal.py)."""
        journal = self._journal()
        journal.pushed_at = asyncio.get_running_loop().time()
        lost = journal.confirm(records, run=bytes(reply[0]), total=int(reply[1]), acked=int(reply[2]))
        if lost:
            logger.warning("Redis lost %d buffered spend events this process pushed; pushing them again", len(lost))
            self._spawn(self.settle_and_push_many([Settlement((), lost, reserved=0, actual=0, tokens=0, now=0.0)]))
        if journal.held and not journal.checking:
            journal.checking = True
            asyncio.get_running_loop().call_later(CHECK_EVERY, self._journal_check)

    def _journal_check(self) -> None:
        """While records wait for the flusher, ask for the counters about once a second (an idle process too)."""
        loop = asyncio.get_running_loop()
        journal = self._journals.get(loop)
        if journal is None or not journal.held:
            if journal is not None:
                journal.checking = False
            return
        idle = loop.time() - journal.pushed_at
        if idle < CHECK_EVERY:
            loop.call_later(CHECK_EVERY - idle, self._journal_check)
            return
        self._spawn(self._confirm_quietly())
        loop.call_later(CHECK_EVERY, self._journal_check)

    async def _confirm_quietly(self) -> None:
        """The idle check: Redis being down is what it waits out, once a second, so that is not logged each time."""
        try:
            await self.spend_confirm()
        except redis.RedisError:
            logger.debug("checking the spend journal failed", exc_info=True)

    async def spend_confirm(self) -> list[bytes]:
        """Bring this loop's journal up to date (pushing again what Redis lost); the records still unconfirmed."""
        journal = self._journal()
        journal.pushed_at = asyncio.get_running_loop().time()
        reply = await self.client.script(SPEND_PUSH, SPEND_KEYS, [uuid.uuid4().hex])
        lost = journal.confirm((), run=bytes(reply[0]), total=int(reply[1]), acked=int(reply[2]))
        if lost:
            logger.warning("Redis lost %d buffered spend events this process pushed; pushing them again", len(lost))
            await self.settle_and_push_many([Settlement((), lost, reserved=0, actual=0, tokens=0, now=0.0)])
        return journal.records()

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._flushes.add(task)
        task.add_done_callback(self._spawned)

    def _spawned(self, task: asyncio.Task[Any]) -> None:
        self._flushes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("a background spend write to Redis failed", exc_info=task.exception())

    # --- intents: in-flight calls another process can settle if this one dies -------------------

    def intent_open(self, request_id: str, intent: bytes) -> None:
        """Record an admitted call's intent; it leaves with this loop's next round trip (in the next loop turn at
        the latest), and the loop's "alive" mark is kept fresh while it has intents."""
        loop = asyncio.get_running_loop()
        intents = self._intents.get(loop)
        if intents is None:
            intents = self._intents[loop] = LoopIntents()
        intents.opening.append((request_id, intent))
        self._send_intents_soon(intents)

    def _send_intents_soon(self, intents: LoopIntents) -> None:
        if not intents.sending:
            intents.sending = True
            self._spawn(self._send_intents(intents))

    def _take_intents(self) -> list[tuple[str | bytes | int, ...]]:
        """The running loop's intents to write (and its alive mark, when due) as commands."""
        loop = asyncio.get_running_loop()
        intents = self._intents.get(loop)
        if intents is None:
            return []
        commands: list[tuple[str | bytes | int, ...]] = []
        alive, hashed, owners = intent_keys(intents.holder, cluster=self.cluster)
        if intents.opening:
            fields = [part for request_id, intent in intents.opening for part in (request_id, intent)]
            intents.opening = []
            commands.append(("HSET", hashed, *fields))
        if intents.beat_due <= loop.time():
            if intents.beat_due == 0.0:
                loop.call_later(HEARTBEAT_EVERY, self._beat, loop)
            intents.beat_due = loop.time() + HEARTBEAT_EVERY
            commands.append(("SET", alive, b"1", "PX", _ms(OWNER_TTL)))
            commands.append(("SADD", owners, intents.holder))
        return commands

    async def _send_intents(self, intents: LoopIntents) -> None:
        """Write what is queued now. Taken when sent, never before: a settle's pipeline that goes first takes the
        intent itself, so an intent's HSET always precedes its HDEL."""
        intents.sending = False
        opening = [request_id for request_id, _ in intents.opening]
        commands = self._take_intents()
        if commands:
            try:
                raise_first(await self.client.pipeline(commands))
            except BaseException:
                intents.unwritten.update(opening)  # their settles must not wait for an intent that is not there
                raise

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        """Keep this loop's alive mark fresh, as long as the loop runs."""
        intents = self._intents.get(loop)
        if intents is None or loop.is_closed():
            return
        loop.call_later(HEARTBEAT_EVERY, self._beat, loop)
        self._send_intents_soon(intents)

    def intents_lost(self) -> list[LostIntent]:
        """Every intent whose owner's alive mark is gone (its process or loop died mid-call)."""
        owners_key = intent_keys("", cluster=self.cluster)[2]
        owners = sorted(item.decode() for item in self.sync.smembers(owners_key))  # type: ignore[union-attr]
        if not owners:
            return []
        marks = self.sync.mget([intent_keys(holder, cluster=self.cluster)[0] for holder in owners])
        lost: list[LostIntent] = []
        for holder, mark in zip(owners, marks):  # type: ignore[arg-type]
            if mark is not None:
                continue
            alive, hashed, _ = intent_keys(holder, cluster=self.cluster)
            found = self.sync.hgetall(hashed)
            if not found:
                self.sync.eval(OWNER_FORGET, 3, alive, hashed, owners_key, holder)
            lost.extend(LostIntent(holder=holder, request_id=request_id.decode(), intent=intent)
                        for request_id, intent in cast(dict[bytes, bytes], found).items())
        return lost

    def intent_settle_lost(self, lost: LostIntent, *, levels: Sequence[LedgerLimits], leased: bool, reserved: int,
                           actual: int, clipped: str, now: float) -> bool:
        """Settle a dead owner's intent once: give back its reservation (unless a lease held it) and charge
        `actual` at its levels. False when it was already settled or its owner is alive after all."""
        alive, hashed, _ = intent_keys(lost.holder, cluster=self.cluster)
        keys = [alive, hashed, *[ledger_key(level.ledger, cluster=self.cluster) for level in levels]]
        args = [f"{now:.6f}", lost.request_id, "lease" if leased else "ledger", str(reserved), str(actual),
                clipped or "-", *level_args(levels)]
        return bool(self.sync.eval(INTENT_SETTLE, len(keys), *keys, *args))

    def spend_peek(self, count: int) -> list[bytes]:
        return [bytes(item) if isinstance(item, bytes) else item.encode() for item in
                self.sync.lrange(SPEND_BUFFER, 0, count - 1)]

    def spend_ack(self, count: int, *, token: str = "") -> bool:
        """Drop the oldest `count` records (stored) and count them as acknowledged; with the flush lock's `token`,
        only while that lock is still held (renewing it). False when the lock was lost: nothing was dropped."""
        seconds = int(settings.TOLLGATE_SPEND_FLUSH_LOCK_SECONDS)
        return bool(self.sync.eval(SPEND_ACK, 3, SPEND_BUFFER, SPEND_ACKED, flush_lock_key(cluster=self.cluster),
                                   str(count), token, str(seconds)))

    def spend_pending(self) -> int:
        return int(self.sync.llen(SPEND_BUFFER))

    @contextmanager
    def flush_lock(self) -> Iterator[str]:
        """The flush lock's token ("" when another flusher holds it), for `spend_ack`'s fencing."""
        token = uuid.uuid4().hex
        seconds = int(settings.TOLLGATE_SPEND_FLUSH_LOCK_SECONDS)
        key = flush_lock_key(cluster=self.cluster)
        acquired = bool(self.sync.set(key, token, nx=True, ex=seconds))
        try:
            yield token if acquired else ""
        finally:
            if acquired:
                self.sync.eval(RELEASE, 1, key, token)
