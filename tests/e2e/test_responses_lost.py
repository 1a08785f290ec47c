"""A background response served over chat whose gateway was killed while it ran ends `failed`: noticed by a read on
another gateway or by beat's reaper once its lease runs out (with Redis), or by the gateway that restarts (without)."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from django.conf import settings

from apps.routing.models import StoredResponse
from apps.routing.responses_orphans import LOST
from apps.routing.tasks import responses_reap_task
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.e2e.test_responses import until
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

LEASE = 1.0  # a response whose gateway was killed is found lost a second or so later
LEASE_ENV = {"TOLLGATE_RESPONSES_LEASE": str(LEASE), "TOLLGATE_RESPONSES_POLL_SECONDS": "0.2"}


def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(api_key=MASTER_KEY, base_url=f"{gateway.url}/v1", max_retries=0, timeout=30)


def killed(server: GatewayProcess) -> None:
    """The gateway and its workers die at once (SIGKILL: nothing is cleaned up, as when a replica's node goes)."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)


def is_lost(response: Any) -> bool:
    return bool(response.status == "failed" and response.error and response.error.message == LOST)


@pytest.fixture
def chat_llm(upstream_model: Callable[..., Any], upstream: OpenAIUpstream) -> str:
    """`chat-llm` on the chat mock (the Responses API served over chat), whose answers never come."""
    upstream_model("chat-llm", provider="hosted_vllm", provider_model="llama-3")
    upstream.always_for("llama-3", Reply(stall=True))
    return "chat-llm"


@pytest.fixture
def doomed(chat_llm: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path_factory.mktemp("responses-doomed"), extra_env=LEASE_ENV)
    yield server
    server.stop()


@pytest.fixture
def survivor(chat_llm: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path_factory.mktemp("responses-survivor"), extra_env=LEASE_ENV)
    yield server
    server.stop()


def started(gateway: GatewayProcess, upstream: OpenAIUpstream, count: int) -> list[str]:
    """`count` background responses running on `gateway`, each with its chat call at the upstream."""
    ids = [client(gateway).responses.create(model="chat-llm", input=f"hello {n}", background=True).id
           for n in range(count)]
    until(lambda: len(upstream.requests) >= count)
    return ids


@pytest.mark.skipif(not settings.REDIS_URL, reason="leases live in the shared state backend")
def test_a_response_whose_gateway_died_ends_failed_on_read_or_by_the_reaper(
        doomed: GatewayProcess, survivor: GatewayProcess, upstream: OpenAIUpstream, settings: Any) -> None:
    settings.TOLLGATE_RESPONSES_LEASE = LEASE  # the reaper run here
    read, reaped = started(doomed, upstream, 2)
    # alive well past a lease: each is still running, on a read and to the reaper (its process renews the lease)
    made = StoredResponse.objects.get(pk=reaped).created_at.timestamp()
    until(lambda: time.time() > made + 2 * LEASE)
    assert client(survivor).responses.retrieve(read).status == "queued"
    assert responses_reap_task() == 0
    killed(doomed)
    lost = until(lambda: (response := client(survivor).responses.retrieve(read)).status != "queued" and response,
                 timeout=30)
    assert is_lost(lost), lost
    until(lambda: responses_reap_task() == 1, timeout=30)
    row = StoredResponse.objects.get(pk=reaped)
    assert (row.status, row.body["error"]["message"]) == ("failed", LOST)
    assert is_lost(client(survivor).responses.retrieve(reaped))
    assert responses_reap_task() == 0  # ended once


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="with Redis the lease tells (the test above)")
def test_a_response_left_by_a_killed_gateway_ends_failed_when_it_restarts(
        doomed: GatewayProcess, upstream: OpenAIUpstream, tmp_path_factory: pytest.TempPathFactory) -> None:
    [response_id] = started(doomed, upstream, 1)
    assert client(doomed).responses.retrieve(response_id).status == "queued"
    killed(doomed)
    restarted = GatewayProcess(log_dir=tmp_path_factory.mktemp("responses-restarted"), extra_env=LEASE_ENV)
    try:
        assert is_lost(client(restarted).responses.retrieve(response_id))
        assert responses_reap_task() == 0  # no shared backend: the serving process tells, not beat
    finally:
        restarted.stop()
