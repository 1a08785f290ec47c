"""Past TOLLGATE_MAX_IN_FLIGHT calls in a worker, API calls get a fast 503 with Retry-After instead of queueing."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

CHAT = {"model": "upstream-gpt", "messages": [{"role": "user", "content": "hello"}]}
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture
def limited_gateway(django_db_setup: None, tmp_path: Path) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path, extra_env={"TOLLGATE_MAX_IN_FLIGHT": "1"})
    yield server
    server.stop()


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_a_call_past_the_limit_is_refused_at_once_and_served_once_a_slot_frees(
        upstream_model: object, upstream: OpenAIUpstream, limited_gateway: GatewayProcess) -> None:
    upstream_model(timeout=2)  # type: ignore[operator]
    upstream.reply_with(Reply(stall=True))
    url = f"{limited_gateway.url}/v1/chat/completions"
    first: list[httpx.Response] = []
    holder = threading.Thread(target=lambda: first.append(httpx.post(url, json=CHAT, headers=AUTH, timeout=30)))
    holder.start()
    wait_for(lambda: len(upstream.requests) == 1)  # the first call holds the only slot, waiting on the upstream

    refused = httpx.post(url, json=CHAT, headers=AUTH, timeout=30)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "overloaded"
    assert len(upstream.requests) == 1, "a refused call must not reach the upstream"
    assert httpx.get(f"{limited_gateway.url}/health/liveliness").status_code == 200
    assert httpx.get(f"{limited_gateway.url}/accounts/login/").status_code == 200

    holder.join(30)
    assert first[0].status_code == 408  # the stalled upstream timed out; its slot is free again
    assert httpx.post(url, json=CHAT, headers=AUTH, timeout=30).status_code == 200
