"""A gateway (with the Celery worker `serve` starts) on Redis behind Sentinel, through a failover, and on a
3-node Redis Cluster: keyed, budgeted calls are served, budgets hold and every served call is stored.

Behind Sentinel, the Celery broker is kombu's sentinel:// transport translated from REDIS_URL; on a Cluster the
broker is a separate Redis (TOLLGATE_CELERY_BROKER_URL), since Celery cannot use a Cluster.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.crc import key_slot

from apps.core.state.redis import LEDGER_TAG
from apps.teams.models import SpendLog
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.e2e.test_replicas import CeleryWorker
from tests.redis_servers import (HOST, SENTINEL_SERVICE, Cluster, SentinelSet, Server, needs_redis_server,
                                 free_ports, redis_cluster, sentinel_set, wait_for)  # noqa: F401 - fixtures
from tests.upstreams.openai import OpenAIUpstream

pytestmark = [needs_redis_server, pytest.mark.django_db(transaction=True)]
MSG = [{"role": "user", "content": "hello"}]
MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}
SERVED_CALLS = 6  # the budget below holds this many calls



def eventually(check: Callable[[], bool], what: str, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < end, f"{what}: not within {deadline} s"
        time.sleep(0.1)


def chat(gateway: GatewayProcess, key: str) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": "upstream-gpt", "messages": MSG, "max_tokens": 20})


def new_key(gateway: GatewayProcess, **fields: Any) -> str:
    answer = httpx.post(f"{gateway.url}/key/generate", headers=MASTER, json=fields, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["key"])


def stored(key: str) -> list[SpendLog]:
    from apps.teams.auth import hash_key

    return list(SpendLog.objects.filter(key_hash=hash_key(key), status="success"))


def budgeted_key(gateway: GatewayProcess) -> str:
    """A key whose budget holds SERVED_CALLS calls at the cost one call has (measured, stored by the worker)."""
    probe = new_key(gateway)
    assert chat(gateway, probe).status_code == 200
    eventually(lambda: len(stored(probe)) == 1, "the probe call stored by the Celery worker")
    cost = stored(probe)[0].cost
    return new_key(gateway, max_budget=float(cost * Decimal(SERVED_CALLS - 0.5)))


@pytest.fixture
def served_model(upstream_model: Any, upstream: OpenAIUpstream) -> None:
    upstream_model(input_cost_per_token=Decimal("0.000001"), output_cost_per_token=Decimal("0.000002"))


def serve_with_worker(env: dict[str, str], log_dir: Path) -> Iterator[GatewayProcess]:
    """A gateway on `env`'s Redis, then a Celery worker with beat flushing its spend buffer every 0.3 s."""
    server = GatewayProcess(extra_env={**env, "TOLLGATE_SPEND_FLUSH_INTERVAL": "0"}, log_dir=log_dir)
    worker = None
    try:
        worker = CeleryWorker(beat=True, log_dir=log_dir, name="worker", extra_env=env)
        yield server
    finally:
        server.stop()
        if worker is not None:
            worker.stop()


@pytest.fixture
def sentinel_gateway(served_model: None, sentinel_set: SentinelSet, tmp_path: Path) -> Iterator[GatewayProcess]:
    yield from serve_with_worker({"REDIS_URL": sentinel_set.url}, tmp_path)


def test_a_failover_keeps_the_gateway_serving_and_the_budget_counting(sentinel_gateway: GatewayProcess,
                                                                     sentinel_set: SentinelSet) -> None:
    key = budgeted_key(sentinel_gateway)
    assert [chat(sentinel_gateway, key).status_code for _ in range(3)] == [200] * 3
    eventually(lambda: len(stored(key)) == 3, "the calls before the failover stored")
    old = sentinel_set.master_port()
    wait_for(lambda: sentinel_set.server(old).client().wait(1, 2000) == 1, "replicated")

    sentinel_set.sentinels[0].client().execute_command("SENTINEL", "FAILOVER", SENTINEL_SERVICE)
    wait_for(lambda: sentinel_set.master_port() != old, "a new master")

    # Calls in flight at the switch may fail (their Redis commands were lost with the connection); then the
    # gateway serves from the new master, where the spend before the failover still counts.
    statuses: list[int] = []

    def served_again() -> bool:
        statuses.append(chat(sentinel_gateway, key).status_code)
        return statuses[-1] == 200

    eventually(served_again, "a call served after the failover")
    while statuses[-1] == 200:
        statuses.append(chat(sentinel_gateway, key).status_code)
    assert statuses[-1] == 400, statuses  # the budget, not an error
    served = 3 + statuses.count(200)
    assert served == SERVED_CALLS, statuses
    eventually(lambda: len(stored(key)) == served, "every served call stored, by a worker on the new master")


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(free_ports(1)[0], tmp_path_factory.mktemp("broker"), [])  # a plain Redis for Celery
    try:
        yield server.start()
    finally:
        server.kill()


@pytest.fixture
def cluster_gateway(served_model: None, redis_cluster: Cluster, broker: Server,
                    tmp_path: Path) -> Iterator[GatewayProcess]:
    yield from serve_with_worker({"REDIS_URL": redis_cluster.url,
                                  "TOLLGATE_CELERY_BROKER_URL": f"redis://{HOST}:{broker.port}/0"}, tmp_path)


def test_a_gateway_on_a_cluster_serves_keyed_budgeted_calls(cluster_gateway: GatewayProcess,
                                                           redis_cluster: Cluster) -> None:
    key = budgeted_key(cluster_gateway)
    statuses = [chat(cluster_gateway, key).status_code for _ in range(SERVED_CALLS + 2)]
    assert statuses == [200] * SERVED_CALLS + [400, 400]
    eventually(lambda: len(stored(key)) == SERVED_CALLS, "every served call stored from the Cluster's buffer")

    limited = new_key(cluster_gateway, rpm_limit=2)
    assert [chat(cluster_gateway, limited).status_code for _ in range(3)] == [200, 200, 429]
    slot = key_slot(LEDGER_TAG.encode())
    ledgers = sum(node.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) for node in redis_cluster.nodes)
    assert ledgers >= 2  # the budgeted and the rate-limited key's ledgers, both in the {ledger} slot
