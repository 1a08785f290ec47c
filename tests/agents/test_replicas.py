"""Two gateway processes: a task started on one is read, followed and (with Redis) canceled from the other; a task
whose gateway was killed ends failed, noticed by a subscriber, a cancel or the reaper on another one (or, with no
Redis, by the gateway that restarts)."""
from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings

from apps.core import jsonutil
from apps.agents import store
from apps.agents.orphans import LOST
from apps.agents.tasks import task_reap_task
from tests.agents.conftest import LEASE, LEASE_ENV, rpc, wait_until
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream

HEADERS = {"Authorization": f"Bearer {MASTER_KEY}", "A2A-Version": "1.0"}


@pytest.fixture(scope="module")
def second_gateway(agent_gateway: GatewayProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path_factory.mktemp("agents-b"),
                                 extra_env={"TOLLGATE_AGENT_MODULES": "tests.agents.code_agents", **LEASE_ENV})
    yield server
    server.stop()


def call(gateway: GatewayProcess, method: str, params: dict[str, Any]) -> Any:
    body = httpx.post(f"{gateway.url}/a2a/waiting_agent", headers=HEADERS, json=rpc(method, params), timeout=60).json()
    assert "result" in body, body
    return body["result"]


def start_waiting(gateway: GatewayProcess) -> str:
    sent = call(gateway, "SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]},
                                         "configuration": {"returnImmediately": True}})
    task_id = str(sent["task"]["id"])
    wait_until(lambda: call(gateway, "GetTask", {"id": task_id})["status"]["state"] == "TASK_STATE_WORKING")
    return task_id


def subscribe_in_thread(gateway: GatewayProcess, task_id: str) -> tuple[list[dict[str, Any]], threading.Thread]:
    events: list[dict[str, Any]] = []

    def read() -> None:
        with httpx.stream("POST", f"{gateway.url}/a2a/waiting_agent", headers=HEADERS, timeout=60,
                          json=rpc("SubscribeToTask", {"id": task_id})) as answer:
            for line in answer.iter_lines():
                if line.startswith("data: "):
                    events.append(jsonutil.loads(line[6:])["result"])

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return events, thread


def test_a_task_on_one_replica_is_read_and_followed_on_the_other(agent_gateway: GatewayProcess,
                                                                second_gateway: GatewayProcess,
                                                                models: OpenAIUpstream) -> None:
    task_id = start_waiting(agent_gateway)
    assert call(second_gateway, "GetTask", {"id": task_id})["status"]["state"] == "TASK_STATE_WORKING"
    events, reader = subscribe_in_thread(second_gateway, task_id)
    wait_until(lambda: events)
    assert events[0]["task"]["id"] == task_id
    canceled = call(agent_gateway, "CancelTask", {"id": task_id})
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
    reader.join(timeout=30)
    assert events[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_CANCELED"
    assert call(second_gateway, "GetTask", {"id": task_id})["status"]["state"] == "TASK_STATE_CANCELED"


@pytest.mark.skipif(not settings.REDIS_URL, reason="replicas share cancel requests through Redis")
def test_cancel_on_another_replica_stops_the_work(agent_gateway: GatewayProcess, second_gateway: GatewayProcess,
                                                  models: OpenAIUpstream) -> None:
    task_id = start_waiting(agent_gateway)
    canceled = call(second_gateway, "CancelTask", {"id": task_id})
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
    assert call(agent_gateway, "GetTask", {"id": task_id})["status"]["state"] == "TASK_STATE_CANCELED"


def killed(server: GatewayProcess) -> None:
    """The gateway and its workers die at once (SIGKILL: nothing is cleaned up, as when a replica's node goes)."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)


def lost(task: dict[str, Any]) -> bool:
    return task["status"]["state"] == "TASK_STATE_FAILED" and task["status"]["message"]["parts"] == [{"text": LOST}]


@pytest.fixture
def doomed_gateway(agent_gateway: GatewayProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path_factory.mktemp("agents-doomed"),
                            extra_env={"TOLLGATE_AGENT_MODULES": "tests.agents.code_agents", **LEASE_ENV})
    yield server
    server.stop()


@pytest.mark.skipif(not settings.REDIS_URL, reason="leases live in the shared state backend")
def test_a_task_whose_replica_died_ends_failed(agent_gateway: GatewayProcess, second_gateway: GatewayProcess,
                                               doomed_gateway: GatewayProcess, models: OpenAIUpstream,
                                               settings: Any) -> None:
    settings.TOLLGATE_A2A_TASK_LEASE = LEASE  # the reaper run here
    followed, canceled, reaped = (start_waiting(doomed_gateway) for _ in range(3))
    assert task_reap_task() == 0  # alive: their leases are kept
    events, reader = subscribe_in_thread(second_gateway, followed)
    wait_until(lambda: events)
    killed(doomed_gateway)
    reader.join(timeout=30)
    assert events[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_FAILED"  # the subscriber noticed
    assert lost(call(agent_gateway, "GetTask", {"id": followed}))
    # each task's lease runs out on its own beat: the cancel comes once this one's has (then it is found gone)
    wait_until(lambda: not asyncio.run(store.leases_alive([canceled])))
    refused = httpx.post(f"{agent_gateway.url}/a2a/waiting_agent", headers=HEADERS, timeout=60,
                         json=rpc("CancelTask", {"id": canceled})).json()
    assert refused["error"]["code"] == -32002  # the cancel found it gone: it failed, and cannot be canceled
    assert lost(call(second_gateway, "GetTask", {"id": canceled}))
    assert task_reap_task() == 1
    from apps.agents.models import AgentTask

    row = AgentTask.objects.get(task_id=reaped)
    assert (row.state, lost(row.task)) == ("TASK_STATE_FAILED", True)


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="with Redis the lease tells (the test above)")
def test_a_task_left_by_a_killed_gateway_ends_failed_when_it_restarts(doomed_gateway: GatewayProcess,
                                                                       models: OpenAIUpstream,
                                                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    task_id = start_waiting(doomed_gateway)
    killed(doomed_gateway)
    restarted = GatewayProcess(log_dir=tmp_path_factory.mktemp("agents-restarted"),
                               extra_env={"TOLLGATE_AGENT_MODULES": "tests.agents.code_agents", **LEASE_ENV})
    try:
        assert lost(call(restarted, "GetTask", {"id": task_id}))
    finally:
        restarted.stop()
