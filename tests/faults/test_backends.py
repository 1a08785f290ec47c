"""The gateway's own backends failing under it: Redis killed and started again (empty), a Celery worker killed in
the middle of a spend flush, a gateway worker killed mid-stream. Each time the client gets an answer or an
OpenAI-shaped error, the gateway keeps serving, and every call that reached the upstream has its spend row."""
from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection

from apps.teams.models import SpendLog, VirtualKey
from tests.conftest import GatewayProcess
from tests.faults.processes import OwnRedis
from tests.faults.test_upstream_faults import ERROR_KEYS, PRICE
from tests.teams.conftest import MSG, make_key
from tests.upstreams.openai import OpenAIUpstream

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
        # Redis is not a journal: events still in its buffer die with it (reported, not covered here), so the
        # first calls' rows are awaited before the kill.
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
