"""The gateway's own backends failing under it: Redis killed and started again (empty, forgetting buffered spend
events), a Celery worker killed in the middle of a spend flush, a gateway worker killed mid-stream. Each time the
client gets an answer or an OpenAI-shaped error, the gateway keeps serving, and every call that reached the
upstream has its spend row."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from apps.core.state.redis import SPEND_BUFFER, RedisState
from apps.teams.models import SpendLog, VirtualKey
from apps.teams.spend import spend_flush
from tests.conftest import GatewayProcess, database_url, process_group
from tests.redis_servers import wait_for
from tests.faults.processes import CeleryWorker, OwnRedis
from tests.faults.test_upstream_faults import ERROR_KEYS, PRICE
from tests.teams.conftest import MSG, make_key
from tests.upstreams.openai import OpenAIUpstream, paced

ONE_CALL = 5 * PRICE  # max_tokens 5, prompt tokens free


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.kill()


def call(gateway: GatewayProcess, secret: str) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                      json={"model": "upstream-gpt", "messages": MSG, "max_tokens": 5}, timeout=30)


def answered_or_refused(response: httpx.Response) -> bool:
    """A full answer, or an OpenAI-shaped 503 saying when to come back."""
    if response.status_code == 200:
        return response.json()["choices"][0]["message"]["content"] == "This is a mock response"
    body = response.json()
    return (response.status_code == 503 and set(body["error"]) == ERROR_KEYS
            and int(response.headers["retry-after"]) > 0)


def wait_for_rows(key: VirtualKey, count: int, *, timeout: float = 30.0) -> list[SpendLog]:
    """The key's rows once there are `count` (the gateway flushes its own buffer), or whatever is there by then."""
    deadline = time.monotonic() + timeout
    while len(rows := list(SpendLog.objects.filter(key_id=key.pk).order_by("start_time"))) < count \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    return rows


def test_redis_going_away_and_coming_back_loses_no_spend(upstream_model, upstream: OpenAIUpstream,
                                                         own_redis: OwnRedis, tmp_path: Path) -> None:
    upstream_model(input_cost_per_token=Decimal(0), output_cost_per_token=PRICE)
    key, secret = make_key(None, None, max_budget=Decimal(100))  # a budget: every call is admitted through Redis
    gateway = GatewayProcess(log_dir=tmp_path, extra_env={"REDIS_URL": own_redis.url,
                                                          "TOLLGATE_SPEND_FLUSH_INTERVAL": "0.2"})
    try:
        assert [call(gateway, secret).status_code for _ in range(3)] == [200] * 3
        # The first calls' rows are awaited before the kill: events still in its buffer are pushed again by the
        # gateway's journal (test_spend_a_restarted_redis_forgot_is_pushed_again); here, the calls during the outage.
        assert len(wait_for_rows(key, 3)) == 3
        own_redis.kill()
        during = [call(gateway, secret) for _ in range(3)]
        assert all(answered_or_refused(r) for r in during), [(r.status_code, r.text) for r in during]
        own_redis.start()
        deadline = time.monotonic() + 30
        while (response := call(gateway, secret)).status_code != 200:
            assert answered_or_refused(response) and time.monotonic() < deadline, response.text
        assert [call(gateway, secret).status_code for _ in range(2)] == [200] * 2
        reached = len(upstream.requests)
        rows = wait_for_rows(key, reached)
        assert len(rows) == reached, (reached, len(rows), gateway.log_path.read_text()[-6000:])
        assert all((r.status, r.cost) == ("success", ONE_CALL) for r in rows)
        key.refresh_from_db()
        assert key.spend == reached * ONE_CALL
    finally:
        gateway.stop()


def test_spend_a_restarted_redis_forgot_is_pushed_again(upstream_model, upstream: OpenAIUpstream,
                                                         tmp_path: Path) -> None:
    upstream_model(input_cost_per_token=Decimal(0), output_cost_per_token=PRICE)
    key, secret = make_key(None, None)
    server = OwnRedis(tmp_path)
    server.start()
    # The journal as it ships (on by default): nothing set here.
    gateway = GatewayProcess(log_dir=tmp_path, extra_env={"REDIS_URL": server.url, "TOLLGATE_SPEND_FLUSH_INTERVAL": "0"})
    try:
        assert [call(gateway, secret).status_code for _ in range(3)] == [200] * 3
        buffered = redis.Redis(port=server.port, socket_timeout=2)
        wait_for(lambda: buffered.llen(SPEND_BUFFER) == 3, "the calls' events in Redis")  # nothing flushes them
        server.kill()
        server.start()  # without what it held
        # The gateway sees the new run id (within a second, with no call needed) and pushes them again.
        wait_for(lambda: buffered.llen(SPEND_BUFFER) == 3, "the events pushed again")
        assert call(gateway, secret).status_code == 200
        backend = RedisState(server.url)
        deadline = time.monotonic() + 30
        while SpendLog.objects.filter(key_id=key.pk).count() < 4:
            spend_flush(backend=backend)
            assert time.monotonic() < deadline, gateway.log_path.read_text()[-6000:]
            time.sleep(0.1)
        rows = list(SpendLog.objects.filter(key_id=key.pk))
        assert len(rows) == len({r.request_id for r in rows}) == len(upstream.requests) == 4
        assert all((r.status, r.cost) == ("success", ONE_CALL) for r in rows)
        key.refresh_from_db()
        assert key.spend == 4 * ONE_CALL
    finally:
        gateway.stop()
        server.kill()


def blocked_on_a_lock(dsn: str) -> bool:
    """Whether a session of the test database waits on a lock (the flush, stuck on the locked spend table)."""
    with psycopg.connect(dsn, autocommit=True) as probe:
        row = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock'").fetchone()
    return bool(row and row[0])


def test_a_celery_worker_killed_mid_flush_loses_and_doubles_nothing(upstream_model, upstream: OpenAIUpstream,
                                                                    own_redis: OwnRedis, tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("holds a PostgreSQL table lock to catch the worker mid-flush")
    upstream_model(input_cost_per_token=Decimal(0), output_cost_per_token=PRICE)
    key, secret = make_key(None, None)
    env = {"REDIS_URL": own_redis.url, "TOLLGATE_SPEND_FLUSH_INTERVAL": "0", "TOLLGATE_SPEND_FLUSH_LOCK_SECONDS": "3"}
    gateway = GatewayProcess(log_dir=tmp_path, extra_env=env)
    try:
        assert [call(gateway, secret).status_code for _ in range(6)] == [200] * 6
    finally:
        gateway.stop()
    dsn = database_url()
    with psycopg.connect(dsn) as locker:
        locker.execute("LOCK TABLE teams_spendlog IN ACCESS EXCLUSIVE MODE")
        first = CeleryWorker(tmp_path, redis_url=own_redis.url, name="first", extra_env=env)
        try:
            deadline = time.monotonic() + 90
            while not blocked_on_a_lock(dsn):  # the beat-driven flush task is inside its transaction now
                assert first.process.poll() is None and time.monotonic() < deadline, first.log_path.read_text()
                time.sleep(0.2)
        finally:
            first.kill()
        locker.rollback()
    second = CeleryWorker(tmp_path, redis_url=own_redis.url, name="second", extra_env=env)
    try:
        rows = wait_for_rows(key, 6, timeout=90)
    finally:
        second.stop()
    assert len(rows) == len(upstream.requests) == 6
    assert len({r.request_id for r in rows}) == 6 and all(r.cost == ONE_CALL for r in rows)
    key.refresh_from_db()
    assert key.spend == 6 * ONE_CALL


def test_a_gateway_worker_killed_mid_stream_has_its_call_settled_by_the_sweeper(upstream_model, upstream: OpenAIUpstream,
                                                                              tmp_path: Path) -> None:
    if not settings.REDIS_URL:
        pytest.skip("embedded, the gateway is one process with its state in memory: no worker to lose")
    upstream_model(input_cost_per_token=Decimal(0), output_cost_per_token=PRICE, timeout=60)
    key, secret = make_key(None, None, max_budget=Decimal(100))
    # No leases: every call is admitted by the ledger, so once all are settled nothing may stay reserved.
    gateway = GatewayProcess(log_dir=tmp_path, extra_env={"WORKERS": "2", "TOLLGATE_LEASE_SECONDS": "0"})
    upstream.reply_with(paced(0.3))
    try:
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", headers=headers, timeout=30,
                          json={"model": "upstream-gpt", "messages": MSG, "stream": True, "max_tokens": 50,
                                "user": "killed-stream"}) as response:
            lines = response.iter_lines()
            assert next(line for line in lines if line).startswith("data: {")
            os.kill(serving_worker(gateway, upstream), signal.SIGKILL)
            with pytest.raises(httpx.HTTPError):  # the stream is cut: the client knows it is incomplete
                for line in lines:
                    assert line != "data: [DONE]"
        deadline = time.monotonic() + 60
        while (answer := call_or_none(gateway, secret)) is None or answer.status_code != 200:
            assert time.monotonic() < deadline, gateway.log_path.read_text()
        assert answered_or_refused(answer)
        # The killed worker's call is settled by the sweep of a real Celery worker's beat-driven spend flush once
        # the worker's alive mark lapses: a worker_lost row charged at its reservation, 50 tokens' worst case.
        sweeper = CeleryWorker(tmp_path, redis_url=settings.REDIS_URL, name="sweeper")
        try:
            rows = wait_for_rows(key, 2, timeout=90)
        finally:
            sweeper.stop()
        assert sorted((r.status, r.cost, r.end_user) for r in rows) == [
            ("success", ONE_CALL, ""), ("worker_lost", 50 * PRICE, "killed-stream")]
        assert len(upstream.requests) == 2
        key.refresh_from_db()
        assert key.spend == ONE_CALL + 50 * PRICE
        assert ledger_counts(key) == {"spent": int((ONE_CALL + 50 * PRICE) * 10**9), "reserved": 0, "par": 0}
    finally:
        gateway.stop()


def ledger_counts(key: VirtualKey) -> dict[str, int]:
    """The key's budget ledger in Redis: settled spend, reserved and in-flight calls."""
    client = redis.Redis.from_url(settings.REDIS_URL or "")
    [name] = client.keys(f"tollgate:ledger:key:{key.pk}:*")
    found = client.hgetall(name)
    return {field: int(float(found[field.encode()])) for field in ("spent", "reserved", "par")}


def serving_worker(gateway: GatewayProcess, upstream: OpenAIUpstream) -> int:
    """The server worker holding a connection to the upstream: the one serving the stream."""
    port = upstream.url.rsplit(":", 1)[1]
    for pid in process_group(gateway.process.pid):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:[") and socket_inode_to(port, link[8:-1]):
                return pid
    raise AssertionError("no gateway worker holds a connection to the upstream")


def socket_inode_to(port: str, inode: str) -> bool:
    """Whether socket `inode` is a TCP connection to 127.0.0.1:`port` (from /proc/net/tcp)."""
    wanted = f"0100007F:{int(port):04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2] == wanted and fields[9] == inode:
            return True
    return False


def call_or_none(gateway: GatewayProcess, secret: str) -> httpx.Response | None:
    try:
        return call(gateway, secret)
    except httpx.HTTPError:
        return None
