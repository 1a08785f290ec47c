"""Under overload, capacity is shared fairly between keys: a key flooding the gateway gets 429 with Retry-After
while another key's calls are all served, with the upstream's latency and not behind the flood."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.teams import services
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream, mock_answer
from tests.upstreams.recording import Recorded, Reply

DELAY = 1.0  # seconds the upstream takes per call
SLOTS = 8  # TOLLGATE_MAX_IN_FLIGHT: the flooder alone may hold 7 of them (one is the reserve), 3 once the quiet key calls
FLOOD_THREADS = 16
CHAT = {"model": "upstream-gpt", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def fair_gateway(django_db_setup: None, tmp_path: Path) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path, extra_env={"TOLLGATE_MAX_IN_FLIGHT": str(SLOTS)})
    yield server
    server.stop()


def slow(request: Recorded) -> Reply:
    time.sleep(DELAY)
    return mock_answer(request)


def flood(url: str, stop: threading.Event, statuses: list[httpx.Response]) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30) as http:
        while not stop.is_set():
            answer = http.post(url, json=CHAT)
            statuses.append(answer)
            if answer.status_code in (429, 503):
                stop.wait(0.05)  # a flooder, not a busy loop that would starve the machine running the test


@pytest.mark.django_db(transaction=True)
def test_a_flooding_key_gets_429_while_a_quiet_key_keeps_its_latency(
        upstream_model: Any, upstream: OpenAIUpstream, fair_gateway: GatewayProcess) -> None:
    upstream_model(timeout=30)
    upstream.always_for("gpt-4o-2024-08-06", slow)
    quiet_key = services.key_generate(fields={}).secret
    url = f"{fair_gateway.url}/v1/chat/completions"
    stop = threading.Event()
    flooded: list[httpx.Response] = []
    threads = [threading.Thread(target=flood, args=(url, stop, flooded)) for _ in range(FLOOD_THREADS)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while not any(answer.status_code == 503 for answer in flooded):  # alone, it fills all but the reserve
            assert time.monotonic() < deadline, "the flooder was never refused"
            time.sleep(0.02)
        quiet: list[tuple[int, float]] = []
        with httpx.Client(headers={"Authorization": f"Bearer {quiet_key}"}, timeout=30) as http:
            for _ in range(5):
                started = time.monotonic()
                answer = http.post(url, json=CHAT)
                quiet.append((answer.status_code, time.monotonic() - started))
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert [status for status, _ in quiet] == [200] * 5
    assert max(latency for _, latency in quiet) < DELAY + 2.0, quiet  # the upstream's delay, not the flood's queue
    refused = [answer for answer in flooded if answer.status_code == 429]
    assert refused[0].headers["retry-after"] == "1"
    assert set(refused[0].json()["error"]) == {"message", "type", "param", "code"}
    assert refused[0].json()["error"]["code"] == "rate_limit_exceeded"
    # Served within its share; refused 503 while alone (the process is full for it), 429 while the quiet key called.
    assert {answer.status_code for answer in flooded} == {200, 429, 503}
