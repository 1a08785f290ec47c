"""Real redis-server processes for the Sentinel and Cluster tests, each in its own temporary directory.

A Sentinel set is a master, a replica and three sentinels watching it as `tollgate`; a Cluster is three
masters made one with `redis-cli --cluster create`. Module-scoped fixtures start them on ports found free at
start (CI runs two suites side by side, so fixed ports would collide) and kill them on teardown.
"""
from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

T = TypeVar("T")

HOST = "127.0.0.1"
SENTINEL_SERVICE = "tollgate"
READY_SECONDS = 30.0
CLUSTER_BUS_OFFSET = 10000  # a Cluster node also listens on its port + 10000

needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
                                        reason="needs redis-server and redis-cli")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def free_ports(count: int) -> list[int]:
    """`count` ports nothing listens on, each with its Cluster bus port (+10000) free too, from a random start."""
    found: list[int] = []
    port = random.randrange(20000, 29000)
    while len(found) < count:
        port += 1
        if _bindable(port) and _bindable(port + CLUSTER_BUS_OFFSET):
            found.append(port)
    return found


def wait_for(check: Callable[[], bool], what: str, seconds: float = READY_SECONDS) -> None:
    """Poll `check` until it holds, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.1)


@dataclass
class Server:
    """One redis-server (or sentinel) process on `port`, its config and log in `folder`."""

    port: int
    folder: Path
    lines: list[str]
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Server:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / ("sentinel.conf" if self.sentinel else "redis.conf")
        config.write_text("\n".join([f"port {self.port}", f"bind {HOST}", f"dir {self.folder}", "save ''",
                                     "appendonly no", f"logfile {self.folder / 'redis.log'}", *self.lines]) + "\n")
        args = ["redis-server", str(config), *(["--sentinel"] if self.sentinel else [])]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._still_running() and self.client().ping(), f"redis on {self.port}")
        return self

    def _still_running(self) -> bool:
        """Fails at once when the server exited (its port taken, say), so no other server's answer is trusted."""
        assert self.process is not None and self.process.poll() is None, f"redis-server on {self.port} exited"
        return True

    def client(self) -> Any:  # redis-py's stubs type replies as Awaitable-or-value
        return redis.Redis(host=HOST, port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class SentinelSet:
    """A master, its replica and three sentinels; `url` is REDIS_URL for them (db 0)."""

    data: list[Server]
    sentinels: list[Server]

    @property
    def url(self) -> str:
        nodes = ",".join(f"{HOST}:{server.port}" for server in self.sentinels)
        return f"redis+sentinel://{nodes}/{SENTINEL_SERVICE}/0"

    def master_port(self) -> int:
        host, port = self.sentinels[0].client().sentinel_get_master_addr_by_name(SENTINEL_SERVICE)
        return int(port)

    def server(self, port: int) -> Server:
        return next(server for server in self.data if server.port == port)

    def wait_settled(self) -> None:
        """Until every sentinel names the same master, which says it is one, with its replica attached."""
        def settled() -> bool:
            named = {tuple(s.client().sentinel_get_master_addr_by_name(SENTINEL_SERVICE)) for s in self.sentinels}
            if len(named) != 1:
                return False
            master = self.server(self.master_port()).client()
            return master.role()[0] == b"master" and len(master.role()[2]) == 1 and all(
                int(s.client().sentinel_master(SENTINEL_SERVICE)["num-other-sentinels"]) == 2 for s in self.sentinels)
        wait_for(settled, "the sentinel set agreeing on one master with one replica", 60)


def start_sentinel_set(folder: Path, started: list[Server]) -> SentinelSet:
    """Start the set; every server goes into `started` before it is waited for, so teardown finds them all."""
    master_port, replica_port, *sentinel_ports = free_ports(5)
    data = [Server(master_port, folder / "master", []), Server(replica_port, folder / "replica",
                                                                [f"replicaof {HOST} {master_port}"])]
    sentinels = [Server(port, folder / f"sentinel-{port}", [
        f"sentinel monitor {SENTINEL_SERVICE} {HOST} {master_port} 2",
        f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 1000",
        f"sentinel failover-timeout {SENTINEL_SERVICE} 4000",
        f"sentinel parallel-syncs {SENTINEL_SERVICE} 1"], sentinel=True) for port in sentinel_ports]
    for server in [*data, *sentinels]:
        started.append(server)
        server.start()
    found = SentinelSet(data, sentinels)
    wait_for(lambda: data[1].client().info("replication")["master_link_status"] == "up", "the replica in sync")
    found.wait_settled()
    return found


@dataclass
class Cluster:
    """Three Cluster masters; `url` is REDIS_URL for them (two seeds name the rest)."""

    nodes: list[Server]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{HOST}:{server.port}" for server in self.nodes[:2])


def start_cluster(folder: Path, started: list[Server]) -> Cluster:
    nodes = [Server(port, folder / f"node-{port}", ["cluster-enabled yes", "cluster-config-file nodes.conf",
                                                    "cluster-node-timeout 2000"]) for port in free_ports(3)]
    for server in nodes:
        started.append(server)
        server.start()
    subprocess.run(["redis-cli", "--cluster", "create", *[f"{HOST}:{server.port}" for server in nodes],
                    "--cluster-yes"], check=True, capture_output=True, timeout=60)
    wait_for(lambda: all(b"cluster_state:ok" in node.client().execute_command("CLUSTER", "INFO") for node in nodes),
             "the cluster serving every slot")
    return Cluster(nodes)


@contextmanager
def killed_after(start: Callable[[Path, list[Server]], T], directory: Path) -> Iterator[T]:
    """What `start` builds in `directory`, every server it started killed afterwards (even if it failed midway)."""
    started: list[Server] = []
    try:
        yield start(directory, started)
    finally:
        for server in started:
            server.kill()


@pytest.fixture(scope="module")
def sentinel_set(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    with killed_after(start_sentinel_set, tmp_path_factory.mktemp("sentinel")) as sentinels:
        yield sentinels


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with killed_after(start_cluster, tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster
