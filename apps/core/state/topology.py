"""Which Redis `REDIS_URL` names: one server, a master watched by Sentinel, or a Cluster.

    redis://[user:password@]host:port/db                 one server (rediss:// TLS, unix:///path.sock)
    redis+sentinel://[user:password@]host1:port1,host2:port2/<service_name>/<db>
                                                         the master the sentinels name (rediss+sentinel:// TLS)
    redis+cluster://[user:password@]host:port[,host:port...]   a Cluster, from any of its nodes (rediss+cluster://)

The password in a sentinel URL is the master's (and its replicas'); `?sentinel_password=` (and
`?sentinel_username=`) authenticate to the sentinels themselves. The service name may come as
`?service_name=` or `?master_name=` instead (as kombu and LiteLLM's settings call it). Ports default to 26379
for sentinels and 6379 for cluster nodes. A Cluster has one database, 0.

Only this module reads those URLs: the lean client (`lean_client`), redis-py (`sync_client`), Celery's
broker and the Channels layer get what they understand from here (gatewaysite/settings.py).
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}
SCHEMES = ("redis", "rediss", "unix", *SENTINEL_SCHEMES, *CLUSTER_SCHEMES)
SENTINEL_PORT = 26379
CLUSTER_PORT = 6379
SENTINEL_RETRIES = 10  # redis-py attempts after a failed one on a Sentinel master (failover_retry)
Kind = Literal["single", "sentinel", "cluster"]


@dataclass(frozen=True, slots=True)
class Topology:
    """A parsed REDIS_URL. `nodes` are the sentinels (sentinel) or the seed nodes (cluster); () for one server."""

    url: str
    kind: Kind = "single"
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""  # the master's name at the sentinels
    tls: bool = False
    verify_tls: bool = True  # False with ?ssl_cert_reqs=none
    username: str | None = None
    password: str | None = None
    db: int = 0
    sentinel_username: str | None = None
    sentinel_password: str | None = None

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context()
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def split_hosts(netloc: str, default_port: int) -> tuple[str, tuple[tuple[str, int], ...]]:
    """The user-info part and the `host:port` list of a multi-host netloc (`[v6]:port` too)."""
    userinfo, _, hosts = netloc.rpartition("@")
    nodes: list[tuple[str, int]] = []
    for item in filter(None, (part.strip() for part in hosts.split(","))):
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.lstrip(":")
        else:
            host, _, port = item.partition(":")
        if not host or (port and not port.isdigit()):
            raise ValueError(f"a Redis node is host:port, not {item!r}")
        nodes.append((host, int(port) if port else default_port))
    if not nodes:
        raise ValueError("a sentinel or cluster Redis URL names at least one host")
    return userinfo, tuple(nodes)


def parse_topology(url: str) -> Topology:
    """The Topology a REDIS_URL names (see the module docstring); ValueError when it names none."""
    scheme, found, rest = url.partition("://")
    if not found or scheme not in SCHEMES:
        raise ValueError(f"a Redis URL starts with one of {', '.join(s + '://' for s in SCHEMES)}")
    if scheme in ("redis", "rediss", "unix"):
        return Topology(url=url)
    sentinel = scheme in SENTINEL_SCHEMES
    parts = urlsplit("redis://" + rest)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    userinfo, nodes = split_hosts(parts.netloc, SENTINEL_PORT if sentinel else CLUSTER_PORT)
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    path = [unquote(piece) for piece in parts.path.split("/") if piece]
    common: dict[str, Any] = {
        "url": url, "nodes": nodes, "tls": (SENTINEL_SCHEMES | CLUSTER_SCHEMES)[scheme],
        "verify_tls": query.get("ssl_cert_reqs", "").lower() != "none",
        "username": unquote(username) or query.get("username") or None,
        "password": unquote(password) if password else query.get("password")}
    if not sentinel:
        if path and path != ["0"]:
            raise ValueError("a Redis Cluster has only database 0")
        return Topology(kind="cluster", **common)
    service = (path[0] if path else "") or query.get("service_name") or query.get("master_name") or ""
    if not service:
        raise ValueError("a sentinel Redis URL names the master: redis+sentinel://host:port/<service_name>/<db>")
    db = path[1] if len(path) > 1 else query.get("db", "0")
    if not db.isdigit():
        raise ValueError(f"a Redis database is a number, not {db!r}")
    return Topology(kind="sentinel", service=service, db=int(db), sentinel_username=query.get("sentinel_username"),
                    sentinel_password=query.get("sentinel_password"), **common)


def _tls_options(topology: Topology) -> dict[str, Any]:
    if not topology.tls:
        return {}
    return {"ssl": True, "ssl_cert_reqs": "required" if topology.verify_tls else "none"}


def sync_client(topology: Topology, **options: Any) -> Any:
    """redis-py for `topology`: Redis, a Sentinel-managed master (re-resolved after failover) or RedisCluster.
    `options` are redis-py connection options (timeouts, keepalive, health checks)."""
    import redis
    from redis.cluster import ClusterNode, RedisCluster
    from redis.sentinel import Sentinel

    if topology.kind == "single":
        return redis.Redis.from_url(topology.url, **options)
    auth = {"username": topology.username, "password": topology.password, **_tls_options(topology)}
    if topology.kind == "cluster":
        options.pop("health_check_interval", None)  # RedisCluster checks its nodes itself
        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in topology.nodes],
                            **auth, **options)
    sentinel_options = {key: value for key, value in options.items() if key.startswith("socket_")}
    sentinels = Sentinel(list(topology.nodes), sentinel_kwargs={
        "username": topology.sentinel_username, "password": topology.sentinel_password,
        **_tls_options(topology), **sentinel_options}, **options)
    return sentinels.master_for(topology.service, db=topology.db, retry=failover_retry(), **auth)


def failover_retry() -> Any:
    """redis-py's retry for a Sentinel master: about 4 s of backed-off attempts, not its default 3 quick ones. Just
    after a failover the sentinels already name the new master while their record of it still says replica for a
    second, and redis-py refuses such an answer (MasterNotFoundError), so a write then would fail."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return Retry(ExponentialBackoff(cap=0.5, base=0.05), SENTINEL_RETRIES)


def celery_broker(topology: Topology) -> tuple[str, dict[str, Any]]:
    """Celery's broker URL and transport options for `topology` (kombu's `sentinel://` for Sentinel).
    A Cluster cannot carry kombu's queues: ValueError, so settings ask for TOLLGATE_CELERY_BROKER_URL."""
    if topology.kind == "single":
        return topology.url, {}
    if topology.kind == "cluster":
        raise ValueError("Celery cannot use a Redis Cluster as its broker: set TOLLGATE_CELERY_BROKER_URL to a "
                         "single Redis (redis://...), a Sentinel set (redis+sentinel://...) or another broker")
    userinfo = ""
    if topology.password is not None:
        userinfo = f"{quote(topology.username or '', safe='')}:{quote(topology.password, safe='')}@"
    urls = ";".join(f"sentinel://{userinfo}{host}:{port}/{topology.db}" for host, port in topology.nodes)
    sentinel_kwargs = {"username": topology.sentinel_username, "password": topology.sentinel_password,
                       **_tls_options(topology)}
    return urls, {"master_name": topology.service, "sentinel_kwargs": sentinel_kwargs}


def channels_host(topology: Topology) -> str | dict[str, Any]:
    """The channels_redis host entry for a single server or a Sentinel set (channels_redis has no Cluster)."""
    if topology.kind == "single":
        return topology.url
    if topology.kind == "cluster":
        raise ValueError("channels_redis cannot use a Redis Cluster")
    return {"sentinels": list(topology.nodes), "master_name": topology.service, "db": topology.db,
            "username": topology.username, "password": topology.password, **_tls_options(topology),
            "sentinel_kwargs": {"username": topology.sentinel_username, "password": topology.sentinel_password,
                                **_tls_options(topology)}}
