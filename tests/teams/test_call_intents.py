"""In-flight calls' intents: a settled call leaves none; a dead owner's intent is settled once, however many
sweepers race for it, as a worker_lost row charged at its reservation, its reservation given back."""
from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.db import connection, connections

from apps.core.state import state
from apps.core.state.base import LedgerLimits
from apps.core.state.redis import RedisState, intent_keys, ledger_key
from apps.teams import metering
from apps.teams.auth import Principal, hash_key
from apps.teams.models import SpendLog, VirtualKey
from apps.teams.snapshot import key_cache
from apps.teams.spend import FlushResult, spend_sweep
from tests.teams.conftest import Cast

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="intents are kept in Redis")
RESERVED = 7_000_000  # nanodollars: 0.007 USD


@pytest.fixture(autouse=True)
def no_leases(monkeypatch: Any) -> None:
    """Every call admitted by the ledger, so its reservation is the only one there."""
    monkeypatch.setattr(settings, "TOLLGATE_LEASE_SECONDS", 0.0)


def redis_state() -> RedisState:
    backend = state()
    assert isinstance(backend, RedisState)
    return backend


def ledger(name: str) -> dict[str, int]:
    found = redis_state().sync.hgetall(ledger_key(name))
    return {field.decode(): int(float(value)) for field, value in found.items()
            if field in (b"spent", b"reserved", b"par")}


async def admit_and_maybe_settle(secret: str, *, settle: bool) -> tuple[metering.Meter, str]:
    """Admit one call of the key (its budget held in Redis), and settle it or leave it in flight; the intents' owner."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))  # the snapshot loaders' one thread
    try:
        principal = Principal(is_master=False, key=await key_cache.get(hash_key(secret)))
        meter = await metering.admit(principal, model="priced", call_type="chat", worst_case=lambda: RESERVED)
        if settle:
            meter.finish_soon(None, metering.Usage(), price=None)
            await metering.drain()
        else:
            await redis_state().settle_and_push_many([])  # what the call's admission queued goes out now
    finally:
        await loop.run_in_executor(None, connections.close_all)
    return meter, redis_state()._intents[loop].holder


def test_a_settled_call_leaves_no_intent(cast: Cast) -> None:
    key, secret = cast.bob.key, cast.bob.secret
    assert key is not None
    VirtualKey.objects.filter(pk=key.pk).update(max_budget=Decimal(10))
    meter, holder = asyncio.run(admit_and_maybe_settle(secret, settle=True))
    assert meter.intent and meter.reserved == RESERVED
    assert redis_state().sync.hlen(intent_keys(holder)[1]) == 0
    assert ledger(meter.levels[0].ledger)["reserved"] == 0


def test_racing_sweepers_settle_a_dead_callers_intent_once(cast: Cast) -> None:
    key, secret = cast.bob.key, cast.bob.secret
    assert key is not None
    VirtualKey.objects.filter(pk=key.pk).update(max_budget=Decimal(10))
    meter, holder = asyncio.run(admit_and_maybe_settle(secret, settle=False))
    [level] = meter.levels
    assert ledger(level.ledger)["reserved"] == RESERVED
    assert spend_sweep() == FlushResult()  # its owner is alive
    redis_state().sync.delete(intent_keys(holder)[0])  # the owner died: its alive mark lapses
    start = threading.Barrier(3)
    results: list[FlushResult] = []

    def sweep() -> None:
        try:
            start.wait(10)
            results.append(spend_sweep())
        finally:
            connection.close()

    sweepers = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in sweepers:
        thread.start()
    for thread in sweepers:
        thread.join(30)
    assert sum(result.lost for result in results) == 1
    [row] = SpendLog.objects.filter(request_id=meter.request_id)
    assert (row.status, row.error_type, row.attempt, row.cost, row.key_id) == (
        "worker_lost", "worker_lost", 1, Decimal("0.007"), key.pk)
    assert VirtualKey.objects.get(pk=key.pk).spend == Decimal("0.007")
    assert ledger(level.ledger) == {"spent": RESERVED, "reserved": 0, "par": 0}
    assert redis_state().sync.hlen(intent_keys(holder)[1]) == 0
    assert spend_sweep() == FlushResult()
    assert not redis_state().sync.sismember(intent_keys(holder)[2], holder)  # the dead owner is forgotten


def test_a_leased_calls_intent_charges_without_giving_back_the_lease(cast: Cast) -> None:
    key, secret = cast.bob.key, cast.bob.secret
    assert key is not None
    backend = redis_state()
    level = LedgerLimits(ledger=f"intent-lease-{time.time_ns()}", max_budget=10 * 10**9)

    async def leased_intent() -> str:
        assert (await backend.admit([level], amount=RESERVED * 5, now=time.time())).reserved == RESERVED * 5
        intent = metering.CallIntent(
            request_id="req-leased", key_id=key.pk, key_hash=key.token_hash, team_id=key.team_id, user_id=key.user_id,
            organization_id=None, model="priced", call_type="chat", started=time.time(), tags=(), end_user="",
            levels=(level,), reserved=RESERVED, clipped="", leased=True)
        backend.intent_open("req-leased", orjson.dumps(intent))
        await backend.settle_and_push_many([])
        return backend._intents[asyncio.get_running_loop()].holder

    holder = asyncio.run(leased_intent())
    backend.sync.delete(intent_keys(holder)[0])
    assert spend_sweep().lost == 1
    # Charged once; what the (dead process's) lease holds stays reserved until the lease is reclaimed.
    assert ledger(level.ledger) == {"spent": RESERVED, "reserved": RESERVED * 5, "par": 1}
    assert SpendLog.objects.get(request_id="req-leased").cost == Decimal("0.007")


def test_an_owner_taken_for_dead_does_not_settle_its_call_a_second_time(cast: Cast) -> None:
    """A partition or a stall longer than the alive mark's life: a sweeper settles the call, then its owner finishes
    it. Releasing its reservation again would free another call's."""
    key, secret = cast.bob.key, cast.bob.secret
    assert key is not None
    VirtualKey.objects.filter(pk=key.pk).update(max_budget=Decimal(10))

    def sweep() -> FlushResult:
        try:
            return spend_sweep()
        finally:
            connection.close()

    async def stalled_owner() -> metering.Meter:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        try:
            principal = Principal(is_master=False, key=await key_cache.get(hash_key(secret)))
            meter = await metering.admit(principal, model="priced", call_type="chat", worst_case=lambda: RESERVED)
            await redis_state().admit(meter.levels, amount=RESERVED, now=time.time())  # another process's call
            await redis_state().settle_and_push_many([])
            redis_state().sync.delete(intent_keys(redis_state()._intents[loop].holder)[0])  # its mark lapsed
            assert (await loop.run_in_executor(None, sweep)).lost == 1
            meter.finish_soon(None, metering.Usage(), price=None)  # the owner was alive after all
            await metering.drain()
        finally:
            await loop.run_in_executor(None, connections.close_all)
        return meter

    meter = asyncio.run(stalled_owner())
    assert ledger(meter.levels[0].ledger) == {"spent": RESERVED, "reserved": RESERVED, "par": 1}
    assert [row.status for row in SpendLog.objects.filter(request_id=meter.request_id)] == ["worker_lost"]
