"""The async state methods the /v1 path uses, on both backends (Redis as one server, behind Sentinel and as a
3-node Cluster, all real redis-server processes); the Redis one's connection loss and scripts."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from apps.core.state.base import LeaseGrant, LeaseReport, LedgerLimits, Settlement, StateBackend
from apps.core.state.memory import MemoryState
from apps.core.state.resp import RedisUnreachable
from tests.redis_servers import needs_redis_server, redis_cluster, sentinel_set  # noqa: F401 - fixtures

URL = settings.REDIS_URL or ""


def redis_state() -> StateBackend:
    from apps.core.state.redis import RedisState

    return RedisState()


REDIS_CASES = [pytest.param("redis", id="redis_case"),
               pytest.param("sentinel", id="sentinel_case", marks=needs_redis_server),
               pytest.param("cluster", id="cluster_case", marks=needs_redis_server)]


@pytest.fixture(params=[pytest.param("memory", id="memory_case"), *REDIS_CASES])
def backend(request: pytest.FixtureRequest) -> StateBackend:
    return make_backend(request)


def make_backend(request: pytest.FixtureRequest) -> StateBackend:
    from apps.core.state.redis import RedisState

    if request.param == "memory":
        return MemoryState()
    if request.param == "sentinel":
        return RedisState(request.getfixturevalue("sentinel_set").url)
    if request.param == "cluster":
        return RedisState(request.getfixturevalue("redis_cluster").url)
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    return redis_state()


@pytest.fixture(params=REDIS_CASES)
def shared_backend(request: pytest.FixtureRequest) -> StateBackend:
    """The Redis backends only (leases are declined in process)."""
    return make_backend(request)


@pytest.fixture
def name() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_values_include_increments_added_soon(backend: StateBackend, name: str) -> None:
    assert await backend.values([name]) == [None]
    backend.add_soon([(name, 2.0, 60), (name, 0.5, 60), (f"{name}:b", 1.0, 60)])
    assert await backend.values([name, f"{name}:b", f"{name}:c"]) == [2.5, 1.0, None]
    backend.add_soon([(name, 1.0, 60)])
    await backend.add_flush()
    assert await backend.values([name]) == [3.5]
    assert await backend.values([]) == []


async def test_add_returns_the_new_values(backend: StateBackend, name: str) -> None:
    assert await backend.add([(name, 1.5, 60), (f"{name}:b", 2.0, 60)]) == [1.5, 2.0]
    assert await backend.add([(name, 1.0, 60)]) == [2.5]
    assert await backend.add([]) == []


async def test_average_folds_samples_in(backend: StateBackend, name: str) -> None:
    assert await backend.average(name, 2.0, weight=0.5, ttl=60) == 2.0
    assert await backend.average(name, 4.0, weight=0.5, ttl=60) == 3.0
    assert await backend.values([name]) == [3.0]


async def test_admit_settle_and_push_keep_spend_and_events(backend: StateBackend, name: str) -> None:
    levels = [LedgerLimits(name, max_budget=100)]
    admission = await backend.admit(levels, amount=30, now=1000.0)
    assert (admission.admitted, admission.reserved) == (True, 30)
    records = [f"{name}:1".encode(), f"{name}:2".encode()]
    await backend.settle_and_push(levels, records, reserved=30, actual=100, tokens=5, now=1000.0,
                                  clipped=admission.clipped)
    assert backend.ledger_spend(name) == 100
    assert backend.spend_peek(backend.spend_pending())[-2:] == records
    refused = await backend.admit(levels, amount=1, now=1000.0)
    assert (refused.admitted, refused.reason, refused.spend, refused.limit) == (False, "budget", 100, 100)


async def test_settle_and_push_many_settles_each_call_and_buffers_every_event(backend: StateBackend, name: str) -> None:
    first, second = [LedgerLimits(f"{name}:1", max_budget=100)], [LedgerLimits(f"{name}:2", max_budget=100)]
    held = [await backend.admit(levels, amount=30, now=1000.0) for levels in (first, second)]
    records = [f"{name}:{i}".encode() for i in range(3)]
    await backend.settle_and_push_many([
        Settlement(first, records[:1], reserved=30, actual=10, tokens=1, now=1000.0, clipped=held[0].clipped),
        Settlement((), records[1:2], reserved=0, actual=0, tokens=0, now=1000.0),
        Settlement(second, records[2:], reserved=30, actual=20, tokens=1, now=1000.0, clipped=held[1].clipped)])
    assert (backend.ledger_spend(f"{name}:1"), backend.ledger_spend(f"{name}:2")) == (10, 20)
    assert backend.spend_peek(backend.spend_pending())[-3:] == records


async def test_a_lease_reserves_and_its_report_settles_and_gives_back(shared_backend: StateBackend, name: str) -> None:
    backend = shared_backend
    level = LedgerLimits(name, max_budget=1000, rpm_limit=100)
    grant = await backend.lease_grant(level, holder="p1", wanted=LeaseGrant(400, 10, 0), least=LeaseGrant(1, 1, 0),
                                      expires=2000.0, share=2, grace=5.0, now=1000.0)
    assert grant == LeaseGrant(budget=400, rpm=10, tpm=0)
    refused = await backend.admit([level], amount=700, now=1000.0)  # 400 leased: 600 left, so it is clipped
    assert (refused.admitted, refused.reserved, refused.clipped) == (True, 600, "1")
    await backend.settle([level], reserved=600, actual=50, tokens=0, now=1000.0, clipped="1")
    await backend.settle_and_push_many([], [LeaseReport(level, "p1", spend=30, release=400, minute=16)])
    assert backend.ledger_spend(name) == 80
    assert (await backend.admit([level], amount=900, now=1000.0)).reserved == 900  # the lease gave its 400 back
    backend.ledger_set_spend(name, 7)
    assert backend.ledger_spend(name) == 7


async def test_cooldowns_generations_and_the_spend_queue(backend: StateBackend, name: str) -> None:
    deadline = await backend.cooldown_start(f"{name}:d", 30)
    assert await backend.cooldown_start(f"{name}:d", 5) == deadline  # a shorter re-cooling keeps the deadline
    assert await backend.cooldowns([f"{name}:d", f"{name}:e"]) == {f"{name}:d": deadline}
    first = backend.bump_generation(name)
    second = backend.bump_generation(name)
    assert second > first and await backend.generation(name) == second

    with backend.flush_lock() as held, backend.flush_lock() as again:
        assert (bool(held), again) == (True, "")
        pending = backend.spend_pending()
        await backend.spend_push(name.encode())
        assert backend.spend_peek(pending + 1)[-1] == name.encode()
        backend.spend_ack(pending + 1)
        assert backend.spend_pending() == 0


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")
async def test_settle_and_push_after_redis_forgot_the_scripts(name: str) -> None:
    backend = redis_state()
    levels = [LedgerLimits(name, max_budget=100)]
    with redis.Redis.from_url(URL) as sync:
        sync.script_flush()
        admission = await backend.admit(levels, amount=30, now=1000.0)
        sync.script_flush()
        backend.add_soon([(name, 1.0, 60)])  # goes in the same pipeline, ahead of the failing EVALSHA
        await backend.settle_and_push(levels, [name.encode()], reserved=30, actual=20, tokens=5, now=1000.0,
                                      clipped=admission.clipped)
    assert backend.ledger_spend(name) == 20
    assert backend.spend_peek(backend.spend_pending())[-1:] == [name.encode()]
    assert await backend.values([name]) == [1.0]


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")
async def test_only_the_settles_redis_refused_run_again(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.core.state.redis import SETTLE, RedisState

    backend = RedisState()
    levels = [[LedgerLimits(f"{name}:{i}", max_budget=100)] for i in range(2)]
    held = [await backend.admit(each, amount=30, now=1000.0) for each in levels]
    client = backend.client
    sent = client.pipeline

    async def loaded_midway(commands: list[tuple[str | bytes | int, ...]]) -> list[object]:
        # Another connection loads the script between our two EVALSHAs: the first fails, the second runs.
        at = next(i for i, command in enumerate(commands) if command[0] == "EVALSHA") + 1
        replies = await sent([*commands[:at], ("SCRIPT", "LOAD", SETTLE.text), *commands[at:]])
        return replies[:at] + replies[at + 1:]

    monkeypatch.setattr(client, "pipeline", loaded_midway)
    redis.Redis.from_url(URL).script_flush()
    await backend.settle_and_push_many([
        Settlement(each, [], reserved=30, actual=10 * (i + 1), tokens=1, now=1000.0, clipped=admission.clipped)
        for i, (each, admission) in enumerate(zip(levels, held))])
    assert [backend.ledger_spend(f"{name}:{i}") for i in range(2)] == [10, 20]


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")
async def test_a_lost_connection_fails_the_call_and_the_next_call_reconnects(name: str) -> None:
    from apps.core.state.redis import RedisState

    backend = RedisState()
    await backend.ping()
    with redis.Redis.from_url(URL) as sync:
        sync.client_kill_filter(_id=await backend.client.execute("CLIENT", "ID"))
    with pytest.raises(RedisUnreachable):
        await backend.values([name])  # the kill arrives before or with this call's reply
    assert await backend.add([(name, 1.0, 60)]) == [1.0]


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
async def test_an_unreachable_redis_fails_ping_with_redis_pys_connection_error() -> None:
    with pytest.raises(redis.exceptions.ConnectionError):
        await redis_state().ping()


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")
def test_clients_of_closed_event_loops_are_dropped() -> None:
    from apps.core.state.redis import RedisState

    backend = RedisState()
    for _ in range(3):
        asyncio.run(backend.ping())
    assert len(backend._clients) == 1
