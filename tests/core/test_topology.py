"""REDIS_URL's three forms (one server, Sentinel, Cluster) and what each Redis user is given for them: Celery's
broker, the Channels layer and Django's cache, the last two checked against real Sentinel and Cluster servers."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from channels_redis.core import RedisChannelLayer

from apps.core.state.django_cache import TopologyRedisCache
from apps.core.state.topology import SENTINEL_RETRIES, Topology, celery_broker, channels_host, parse_topology, sync_client
from tests.redis_servers import Cluster, SentinelSet, needs_redis_server, redis_cluster, sentinel_set  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("url", "expected"), [
    pytest.param("redis://:pw@h:6380/2", Topology("redis://:pw@h:6380/2"), id="single_case"),
    pytest.param("redis+sentinel://:pw@s1:26390,s2/mymaster/3?sentinel_password=sp",
                 Topology("redis+sentinel://:pw@s1:26390,s2/mymaster/3?sentinel_password=sp", kind="sentinel",
                          nodes=(("s1", 26390), ("s2", 26379)), service="mymaster", password="pw", db=3,
                          sentinel_password="sp"), id="sentinel_case"),
    pytest.param("rediss+sentinel://app:p%40ss@[::1]:26379?service_name=m&ssl_cert_reqs=none",
                 Topology("rediss+sentinel://app:p%40ss@[::1]:26379?service_name=m&ssl_cert_reqs=none",
                          kind="sentinel", nodes=(("::1", 26379),), service="m", tls=True, verify_tls=False,
                          username="app", password="p@ss"), id="sentinel_query_case"),
    pytest.param("redis+cluster://c1:7000,c2:7001", Topology("redis+cluster://c1:7000,c2:7001", kind="cluster",
                                                              nodes=(("c1", 7000), ("c2", 7001))), id="cluster_case"),
])
def test_a_redis_url_names_its_topology(url: str, expected: Topology) -> None:
    assert parse_topology(url) == expected


@pytest.mark.parametrize(("url", "message"), [
    pytest.param("memcached://h", "a Redis URL starts with one of", id="scheme_case"),
    pytest.param("redis+sentinel://h:26379", "names the master", id="no_service_case"),
    pytest.param("redis+sentinel://h:port/m", "a Redis node is host:port", id="port_case"),
    pytest.param("redis+cluster://h:7000/2", "only database 0", id="cluster_db_case"),
    pytest.param("redis+sentinel://h/m/first", "a Redis database is a number", id="db_case"),
])
def test_a_bad_redis_url_says_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_topology(url)


def test_celery_gets_kombus_sentinel_transport_and_no_cluster() -> None:
    url, options = celery_broker(parse_topology("redis+sentinel://:p w@s1:1,s2:2/mymaster/4?sentinel_password=sp"))
    assert url == "sentinel://:p%20w@s1:1/4;sentinel://:p%20w@s2:2/4"
    assert options == {"master_name": "mymaster", "sentinel_kwargs": {"username": None, "password": "sp"}}
    assert celery_broker(parse_topology("redis://h/1")) == ("redis://h/1", {})
    with pytest.raises(ValueError, match="TOLLGATE_CELERY_BROKER_URL"):
        celery_broker(parse_topology("redis+cluster://h:7000"))


def shown_settings(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    shown = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c",
                            "from django.conf import settings as s; print(s.CELERY_BROKER_URL);"
                            "print(s.CACHES['default']['BACKEND']); print(s.CHANNEL_LAYERS['default']['BACKEND']);"
                            "print(s.TOLLGATE_STATE_BACKEND)"],
                           cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.split()


def test_redis_py_on_a_sentinel_master_retries_through_a_failover() -> None:
    """Its default 3 quick attempts failed a write in the second after a failover (MasterNotFoundError)."""
    client = sync_client(parse_topology("redis+sentinel://127.0.0.1:26399/tollgate/0"))
    retry = client.get_retry()
    assert retry.get_retries() == SENTINEL_RETRIES == 10
    assert sum(retry._backoff.compute(n) for n in range(1, SENTINEL_RETRIES + 1)) > 3  # seconds waited in all


def test_a_cluster_takes_celery_and_the_channel_layer_to_the_broker_url() -> None:
    assert shown_settings(REDIS_URL="redis+cluster://127.0.0.1:30101",
                          TOLLGATE_CELERY_BROKER_URL="redis://127.0.0.1:26389/0") == [
        "redis://127.0.0.1:26389/0", "apps.core.state.django_cache.TopologyRedisCache",
        "channels_redis.core.RedisChannelLayer", "apps.core.state.redis.RedisState"]


@needs_redis_server
def test_djangos_cache_works_through_sentinel_and_cluster(sentinel_set: SentinelSet, redis_cluster: Cluster) -> None:
    for url in (sentinel_set.url, redis_cluster.url):
        cache = TopologyRedisCache([url], {})
        keys = [f"test:{uuid.uuid4().hex}" for _ in range(8)]
        cache.set_many({key: {"n": n} for n, key in enumerate(keys)})
        assert cache.get(keys[0]) == {"n": 0}
        assert cache.get_many([*keys, "test:missing"]) == {key: {"n": n} for n, key in enumerate(keys)}
        cache.delete_many(keys)
        assert cache.get_many(keys) == {}


@needs_redis_server
async def test_the_channel_layer_works_through_sentinel(sentinel_set: SentinelSet) -> None:
    layer = RedisChannelLayer(hosts=[channels_host(parse_topology(sentinel_set.url))])
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "hello", "n": 1})
    assert await layer.receive(channel) == {"type": "hello", "n": 1}
    await layer.flush()
    await layer.close_pools()
