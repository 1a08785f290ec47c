"""The lean client over a real 3-node Redis Cluster: slot routing, split MGET and MULTI, MOVED and ASK, scripts."""
from __future__ import annotations

import uuid

import pytest
import redis
from redis.crc import key_slot

from apps.core.state.cluster import ClusterClient
from apps.core.state.redis import (
    LEDGER_TAG, SPEND_BUFFER, SPEND_KEYS, RedisState, flush_lock_key, intent_keys, ledger_key, leases_key)
from apps.core.state.resp import Client, Script
from apps.core.state.topology import parse_topology
from tests.redis_servers import Cluster, needs_redis_server, redis_cluster  # noqa: F401 - fixture

pytestmark = needs_redis_server


@pytest.fixture
def client(redis_cluster: Cluster) -> ClusterClient:
    return ClusterClient(parse_topology(redis_cluster.url))


def owner(cluster: Cluster, key: str) -> redis.Redis:
    """The node that serves `key`, asked directly."""
    slot = key_slot(key.encode())
    for start, end, master, *_ in cluster.nodes[0].client().execute_command("CLUSTER", "SLOTS"):
        if int(start) <= slot <= int(end):
            return next(node.client() for node in cluster.nodes if node.port == int(master[1]))
    raise AssertionError(f"no node serves slot {slot}")


def keys_on_every_node(cluster: Cluster, count: int = 12) -> list[str]:
    """`count` fresh keys, as many served by each of the three nodes, interleaved node by node."""
    by_node: dict[int, list[str]] = {}
    while min((len(keys) for keys in by_node.values()), default=0) < count // 3 or len(by_node) < 3:
        key = f"test:{uuid.uuid4().hex}"
        by_node.setdefault(owner(cluster, key).connection_pool.connection_kwargs["port"], []).append(key)
    return [key for trio in zip(*[keys[:count // 3] for keys in by_node.values()]) for key in trio]


async def test_each_command_goes_to_the_node_that_serves_its_slot(client: ClusterClient, redis_cluster: Cluster) -> None:
    keys = keys_on_every_node(redis_cluster)
    replies = await client.pipeline([("SET", key, str(n)) for n, key in enumerate(keys)])
    assert replies == [b"OK"] * len(keys)
    assert [owner(redis_cluster, key).get(key) for key in keys] == [str(n).encode() for n in range(len(keys))]
    assert await client.execute("GET", keys[3]) == b"3"


async def test_an_mget_over_many_slots_comes_back_in_the_keys_order(client: ClusterClient,
                                                                    redis_cluster: Cluster) -> None:
    keys = keys_on_every_node(redis_cluster)
    await client.pipeline([("SET", key, key) for key in keys[::2]])
    assert await client.execute("MGET", *keys) == [key.encode() if n % 2 == 0 else None for n, key in enumerate(keys)]


async def test_a_multi_block_over_many_slots_runs_per_slot_and_answers_as_one(client: ClusterClient,
                                                                             redis_cluster: Cluster) -> None:
    keys = keys_on_every_node(redis_cluster, 6)
    commands = [("MULTI",), *[("INCRBY", key, str(n + 1)) for n, key in enumerate(keys)], ("EXEC",), ("GET", keys[0])]
    replies = await client.pipeline(commands)
    assert replies == [b"OK", *[b"QUEUED"] * 6, [1, 2, 3, 4, 5, 6], b"1"]


async def test_a_moved_reply_is_followed_and_the_slot_map_read_again(client: ClusterClient,
                                                                      redis_cluster: Cluster) -> None:
    keys = keys_on_every_node(redis_cluster)
    await client.execute("PING")
    first = redis_cluster.nodes[0]
    client.slots = [("127.0.0.1", first.port)] * 16384  # as if every slot had moved to the first node
    assert await client.pipeline([("SET", key, "v") for key in keys]) == [b"OK"] * len(keys)
    assert client.slots is not None and len(set(client.slots)) == 3  # the MOVED replies made it read the map again
    assert [owner(redis_cluster, key).get(key) for key in keys] == [b"v"] * len(keys)


async def test_an_ask_reply_sends_the_command_once_to_the_importing_node(client: ClusterClient,
                                                                          redis_cluster: Cluster) -> None:
    key = f"test:{uuid.uuid4().hex}"
    slot = key_slot(key.encode())
    source = owner(redis_cluster, key)
    target = next(node.client() for node in redis_cluster.nodes
                  if node.port != source.connection_pool.connection_kwargs["port"])
    ids = {client_: client_.execute_command("CLUSTER", "MYID").decode() for client_ in (source, target)}
    target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source])
    source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target])
    try:
        assert await client.execute("SET", key, "moving") == b"OK"  # not at the source: ASK, then ASKING + SET
        assert source.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        assert target.execute_command("ASKING") and target.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 1
    finally:
        for node in (source, target):
            node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[source])
        target.execute_command("ASKING")
        target.delete(key)


async def test_scripts_are_loaded_on_each_node_that_runs_them(client: ClusterClient, redis_cluster: Cluster) -> None:
    script = Script.of(f"-- {uuid.uuid4().hex}\nreturn redis.call('INCR', KEYS[1])")
    keys = keys_on_every_node(redis_cluster)
    assert [await client.script(script, [key], []) for key in keys] == [1] * len(keys)
    assert all(node.client().script_exists(script.sha) == [True] for node in redis_cluster.nodes)


def test_every_ledger_and_leases_hash_shares_one_slot() -> None:
    names = [f"key:{n}" for n in range(20)] + [f"team:{n}" for n in range(20)]
    slots = ({key_slot(ledger_key(name, cluster=True).encode()) for name in names}
             | {key_slot(leases_key(n, cluster=True).encode()) for n in names})
    assert slots == {key_slot(LEDGER_TAG.encode())}


def test_the_spend_buffers_counters_and_lock_share_its_slot_and_intents_the_ledgers_slot() -> None:
    assert {key_slot(key.encode()) for key in (*SPEND_KEYS, flush_lock_key(cluster=True))} == {
        key_slot(SPEND_BUFFER.encode())}
    assert {key_slot(key.encode()) for key in intent_keys("host:1:ab", cluster=True)} == {
        key_slot(LEDGER_TAG.encode())}
    assert flush_lock_key() == "tollgate:spend:flush-lock"  # outside a Cluster, the name earlier releases use


@pytest.mark.django_db
def test_a_dead_callers_intent_is_swept_and_its_row_stored_over_a_cluster(redis_cluster: Cluster) -> None:
    import asyncio
    import time

    from apps.core.state.base import LedgerLimits
    from apps.teams.auth import Principal
    from apps.teams.metering import CallIntent, Meter
    from apps.teams.models import SpendLog
    from apps.teams.spend import spend_flush

    backend = RedisState(redis_cluster.url)
    level = LedgerLimits(f"key:{uuid.uuid4().hex}", max_budget=100)

    async def admitted() -> str:
        admission = await backend.admit([level], amount=40, now=time.time())
        meter = Meter(principal=Principal(is_master=True), request_id="req-cluster-lost", call_type="chat",
                      model="m", levels=(level,), reserved=admission.reserved)
        backend.intent_open(meter.request_id, CallIntent.record(meter))
        await backend.settle_and_push_many([])
        return backend._intents[asyncio.get_running_loop()].holder

    holder = asyncio.run(admitted())
    backend.sync.delete(intent_keys(holder, cluster=True)[0])
    assert spend_flush(backend=backend).lost == 1
    assert SpendLog.objects.get(request_id="req-cluster-lost").status == "worker_lost"
    assert backend.ledger_spend(level.ledger) == 40


def test_one_server_keeps_the_plain_lean_client(settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert type(RedisState()._new_client()) is Client  # no routing step per command


async def test_an_admit_over_levels_on_what_would_be_three_nodes_runs_on_one(redis_cluster: Cluster) -> None:
    from apps.core.state.base import LedgerLimits

    backend = RedisState(redis_cluster.url)
    levels = [LedgerLimits(f"{kind}:{uuid.uuid4().hex}", max_budget=100) for kind in ("key", "team", "org")]
    admission = await backend.admit(levels, amount=40, now=1000.0)
    assert (admission.admitted, admission.reserved) == (True, 40)
    assert {backend.ledger_spend(level.ledger) for level in levels} == {0}


def test_outside_a_cluster_ledgers_keep_the_names_earlier_releases_use() -> None:
    """A rolling upgrade runs old and new replicas on one Redis: they must hold the same ledger hashes."""
    assert ledger_key("key:abc") == "tollgate:ledger:key:abc"
    assert leases_key("key:abc") == "tollgate:leases:key:abc"
    assert not RedisState("redis://127.0.0.1:6379/0").cluster
