"""A cooldown set by one gateway process keeps every other process off the deployment (Redis shared state)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from apps.core.state import state
from apps.routing.models import RouterSettings
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="cooldowns are shared through Redis; REDIS_URL unset")
MSG = [{"role": "user", "content": "hello"}]
COOLDOWN = 30


@pytest.fixture
def second_gateway(gateway: GatewayProcess, tmp_path: Path) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path)
    yield server
    server.stop()


def call(url: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG},
                      headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30)


def test_a_cooldown_set_by_one_process_holds_in_another(upstream_model, upstream: OpenAIUpstream,
                                                        gateway: GatewayProcess, second_gateway: GatewayProcess) -> None:
    # Cost-based routing tries the cheaper `first` before `second`, in both processes, until `first` cools down.
    first = upstream_model(provider_model="first", input_cost_per_token=Decimal("0.000001"))
    upstream_model(provider_model="second", input_cost_per_token=Decimal("0.00001"))
    RouterSettings.objects.update_or_create(pk=1, defaults={"routing_strategy": "cost-based", "num_retries": 1,
                                                            "settings": {"cooldown_time": COOLDOWN}})
    upstream.always_for("first", Reply.json(429, {"error": {"message": "slow down"}}))

    before = time.time()
    assert call(gateway.url).status_code == 200
    assert upstream.models_called() == ["first", "second"]
    deadline = asyncio.run(state().cooldowns([str(first.pk)]))[str(first.pk)]
    assert before + COOLDOWN <= deadline <= time.time() + COOLDOWN  # to the second, in the shared store

    assert [call(second_gateway.url).status_code for _ in range(3)] == [200, 200, 200]
    assert upstream.models_called() == ["first", "second", "second", "second", "second"]


def test_re_cooling_from_another_process_extends_the_deadline(upstream_model, upstream: OpenAIUpstream,
                                                              gateway: GatewayProcess,
                                                              second_gateway: GatewayProcess) -> None:
    first = upstream_model(provider_model="first", input_cost_per_token=Decimal("0.000001"))
    upstream_model(provider_model="second", input_cost_per_token=Decimal("0.00001"))
    RouterSettings.objects.update_or_create(pk=1, defaults={"routing_strategy": "cost-based", "num_retries": 1,
                                                            "settings": {"cooldown_time": 2}})
    upstream.always_for("first", Reply.json(429, {"error": {"message": "slow down"}}))
    assert call(gateway.url).status_code == 200
    first_deadline = asyncio.run(state().cooldowns([str(first.pk)]))[str(first.pk)]

    # Once the short cooldown ends, the other process tries `first` again, fails, and cools it anew.
    while "first" not in upstream.models_called()[2:]:
        assert time.time() < first_deadline + 10, "the cooldown never ended"
        assert call(second_gateway.url).status_code == 200
        time.sleep(0.05)  # pacing the polling loop, not an assertion
    assert time.time() >= first_deadline  # never tried again while cooling
    assert upstream.models_called()[-2:] == ["first", "second"]
    assert asyncio.run(state().cooldowns([str(first.pk)]))[str(first.pk)] > first_deadline
