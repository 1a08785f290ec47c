"""Django's Redis cache over a Sentinel-watched master or a Cluster (REDIS_URL's redis+sentinel:// and
redis+cluster:// forms), through the redis-py client apps/core/state/topology.py builds for them."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from apps.core.state.topology import parse_topology, sync_client


class TopologyCacheClient(RedisCacheClient):
    """One redis-py client (Sentinel-managed or RedisCluster) for every read and write."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._topology = parse_topology(servers[0])
        self._shared: Any = None
        self.serializer: Any = getattr(self, "_serializer")  # set by RedisCacheClient, unknown to its stubs

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        if self._shared is None:
            self._shared = sync_client(self._topology)
        return self._shared

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        if self._topology.kind != "cluster":
            return super().get_many(keys)  # type: ignore[no-any-return]
        keys = list(keys)
        values = self.get_client().mget_nonatomic(keys)  # the keys' slots differ: one MGET per slot
        return {key: self.serializer.loads(value) for key, value in zip(keys, values) if value is not None}

    def set_many(self, data: Mapping[Any, Any], timeout: int | timedelta) -> None:
        if self._topology.kind != "cluster":
            return super().set_many(data, timeout)
        pipeline = self.get_client().pipeline()  # one SET per key: Cluster refuses an MSET over many slots
        for key, value in data.items():
            if timeout == 0:
                pipeline.delete(key)  # expired at once, as Django's own set_many leaves it
            else:
                pipeline.set(key, self.serializer.dumps(value), ex=timeout)
        pipeline.execute()
        return None


class TopologyRedisCache(RedisCache):
    """RedisCache whose LOCATION is one redis+sentinel:// or redis+cluster:// URL (given as a one-item list, so
    Django does not split it at its commas)."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = TopologyCacheClient
