"""State behind Redis Sentinel (real master, replica and three sentinels): budgets, leases and cooldowns go on
through a failover, forced or after the master dies, and the lean client follows the master it is told of.

What a failover loses: commands in flight on the old master fail (RedisUnreachable: the call that sent them
gets an error, nothing is sent twice), and writes the old master acknowledged but had not yet replicated are
gone (Redis replicates asynchronously). Everything replicated before survives: spend, reservations, counters.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from apps.core.state.base import LeaseGrant, LedgerLimits
from apps.core.state.redis import RedisState
from apps.core.state.resp import Address, Client, RedisUnreachable
from apps.core.state.sentinel import SentinelClient
from apps.core.state.topology import parse_topology
from tests.redis_servers import (HOST, SENTINEL_SERVICE, SentinelSet, free_ports, needs_redis_server, sentinel_set,  # noqa: F401
                                 wait_for)

pytestmark = needs_redis_server
FAILOVER_SECONDS = 30.0


async def eventually(call: Callable[[], Awaitable[Any]], what: str) -> Any:
    """The first answer of `call` that does not fail for want of a master, within FAILOVER_SECONDS."""
    deadline = time.monotonic() + FAILOVER_SECONDS
    while True:
        try:
            return await call()
        except RedisUnreachable:
            assert time.monotonic() < deadline, f"{what}: no master within {FAILOVER_SECONDS} s"
            await asyncio.sleep(0.1)


def failover(found: SentinelSet) -> int:
    """SENTINEL FAILOVER, and the new master's port once every sentinel names it."""
    old = found.master_port()
    found.sentinels[0].client().execute_command("SENTINEL", "FAILOVER", SENTINEL_SERVICE)
    wait_for(lambda: found.master_port() != old, "a new master")
    found.wait_settled()
    return found.master_port()


async def test_budgets_leases_and_cooldowns_go_on_through_a_forced_failover(sentinel_set: SentinelSet) -> None:
    backend = RedisState(sentinel_set.url)
    name = f"test:{uuid.uuid4().hex}"
    level = LedgerLimits(name, max_budget=100)
    held = await backend.admit([level], amount=30, now=1000.0)
    await backend.settle([level], reserved=30, actual=60, tokens=1, now=1000.0, clipped=held.clipped)
    deadline = await backend.cooldown_start(f"{name}:d", 60)
    assert await backend.add([(name, 1.0, 60)]) == [1.0]
    wait_for(lambda: sentinel_set.server(sentinel_set.master_port()).client().wait(1, 2000) == 1, "replicated")
    before = sentinel_set.master_port()

    after = failover(sentinel_set)

    assert after != before
    assert await eventually(lambda: backend.add([(name, 1.0, 60)]), "a counter") == [2.0]
    assert await backend.cooldowns([f"{name}:d"]) == {f"{name}:d": deadline}
    refused = await backend.admit([level], amount=50, now=1000.0)
    assert (refused.admitted, refused.reserved) == (True, 40)  # 60 spent before the failover: 40 left
    await backend.settle([level], reserved=40, actual=40, tokens=1, now=1000.0, clipped=refused.clipped)
    assert (await backend.admit([level], amount=1, now=1000.0)).reason == "budget"
    assert await backend.lease_grant(LedgerLimits(f"{name}:l", max_budget=1000), holder="p", share=2, grace=5,
                                     wanted=LeaseGrant(100), least=LeaseGrant(1), expires=2000.0,
                                     now=1000.0) == LeaseGrant(100)
    assert backend.ledger_spend(name) == 100  # redis-py's Sentinel-managed client found the new master too


async def test_the_master_dying_moves_every_client_to_the_promoted_replica(sentinel_set: SentinelSet) -> None:
    backend = RedisState(sentinel_set.url)
    name = f"test:{uuid.uuid4().hex}"
    assert await backend.add([(name, 5.0, 60)]) == [5.0]
    backend.bump_generation(name)
    old = sentinel_set.master_port()
    wait_for(lambda: sentinel_set.server(old).client().wait(1, 2000) == 1, "replicated")

    sentinel_set.server(old).kill()
    try:
        with pytest.raises(RedisUnreachable):
            await backend.add([(name, 1.0, 60)])  # the lost connection fails its call; nothing is sent twice
        assert await eventually(lambda: backend.add([(name, 1.0, 60)]), "a counter after the master died") == [6.0]
        assert sentinel_set.master_port() != old
        assert backend.bump_generation(name) == 2  # redis-py too, at once (it retries while the sentinels settle)
    finally:
        sentinel_set.server(old).start()  # back as a replica of the new master, for the tests after this one
        sentinel_set.wait_settled()


async def test_a_write_refused_by_a_demoted_master_goes_to_the_new_master(sentinel_set: SentinelSet) -> None:
    topology = parse_topology(sentinel_set.url)
    client = SentinelClient(topology)
    name = f"test:{uuid.uuid4().hex}"
    assert await client.execute("INCR", name) == 1
    replica = next(server for server in sentinel_set.data if server.port != sentinel_set.master_port())
    # As if the master this connection reached had been turned into a replica under it.
    client.connection = await Client(Address(host=HOST, port=replica.port))._connect()
    wait_for(lambda: replica.client().get(name) == b"1", "replicated")
    assert await client.execute("INCR", name) == 2  # READONLY, so it ran nowhere: sent again on the master
    assert client.address.port == sentinel_set.master_port()
    client.close()


async def test_a_server_the_sentinels_call_master_that_is_not_one_is_refused(sentinel_set: SentinelSet,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    client = SentinelClient(parse_topology(sentinel_set.url))
    replica = next(server for server in sentinel_set.data if server.port != sentinel_set.master_port())

    async def stale_answer() -> Address:
        return Address(host=HOST, port=replica.port)

    monkeypatch.setattr(client, "master", stale_answer)
    with pytest.raises(RedisUnreachable, match="is not the master"):
        await client.execute("PING")


async def test_no_sentinel_answering_is_a_connection_error() -> None:
    client = SentinelClient(parse_topology(f"redis+sentinel://127.0.0.1:{free_ports(1)[0]}/tollgate/0"))
    with pytest.raises(RedisUnreachable, match="no sentinel named a master"):
        await client.execute("PING")
