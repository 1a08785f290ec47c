"""Push notification configs over JSON-RPC (1.0 and 0.3) and their delivery when a task ends: retried with
backoff against a receiver that fails, given up after the attempts run out, a dead URL holding up nothing else,
and a delivery its process left behind sent by the beat task."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone

from apps.agents.models import AgentPushDelivery, AgentTask
from apps.agents.tasks import push_deliver_due_task
from tests.agents.conftest import PUSH_ATTEMPTS, rpc, wait_until
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import RecordingServer, Reply


@pytest.fixture
def receiver() -> Iterator[RecordingServer]:
    with RecordingServer(lambda request: Reply.json(200, {"ok": True})) as server:
        yield server


def call(gateway: GatewayProcess, method: str, params: Any, version: str | None = "1.0") -> Any:
    headers = {"Authorization": f"Bearer {MASTER_KEY}", **({"A2A-Version": version} if version else {})}
    body = httpx.post(f"{gateway.url}/a2a/research_agent", headers=headers, json=rpc(method, params), timeout=60).json()
    assert "result" in body, body
    return body["result"]


def test_a_push_config_given_with_the_message_gets_the_ended_task(agent_gateway: GatewayProcess,
                                                                  models: OpenAIUpstream,
                                                                  receiver: RecordingServer) -> None:
    task = call(agent_gateway, "SendMessage", {
        "message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "notify me"}]},
        "configuration": {"taskPushNotificationConfig": {"url": f"{receiver.url}/hook", "token": "tok-1",
                                                         "authentication": {"scheme": "Bearer",
                                                                            "credentials": "cred-1"}}}})["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED", task["status"]
    [pushed] = wait_until(lambda: list(receiver.requests))
    assert (pushed.path, pushed.headers["x-a2a-notification-token"], pushed.headers["authorization"]) == (
        "/hook", "tok-1", "Bearer cred-1")
    assert (pushed.json()["task"]["id"], pushed.json()["task"]["status"]["state"]) == (task["id"],
                                                                                       "TASK_STATE_COMPLETED")


def test_push_configs_are_managed_in_1_0(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                         receiver: RecordingServer) -> None:
    task = call(agent_gateway, "SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER",
                                                           "parts": [{"text": "x"}]}})["task"]
    created = call(agent_gateway, "CreateTaskPushNotificationConfig",
                   {"taskId": task["id"], "id": "cfg-1", "url": f"{receiver.url}/a"})
    assert created == {"taskId": task["id"], "id": "cfg-1", "url": f"{receiver.url}/a"}
    assert call(agent_gateway, "GetTaskPushNotificationConfig", {"taskId": task["id"], "id": "cfg-1"}) == created
    assert call(agent_gateway, "ListTaskPushNotificationConfigs", {"taskId": task["id"]}) == {
        "configs": [created], "nextPageToken": ""}
    assert call(agent_gateway, "DeleteTaskPushNotificationConfig", {"taskId": task["id"], "id": "cfg-1"}) == {}
    assert call(agent_gateway, "ListTaskPushNotificationConfigs", {"taskId": task["id"]})["configs"] == []


def test_push_configs_are_managed_in_0_3(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                         receiver: RecordingServer) -> None:
    task = call(agent_gateway, "message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                                            "parts": [{"kind": "text", "text": "x"}]}}, version=None)
    config = {"taskId": task["id"], "pushNotificationConfig": {"id": "old-1", "url": f"{receiver.url}/b",
                                                               "token": "t",
                                                               "authentication": {"schemes": ["Bearer"]}}}
    assert call(agent_gateway, "tasks/pushNotificationConfig/set", config, version=None) == config
    assert call(agent_gateway, "tasks/pushNotificationConfig/get", {"id": task["id"]}, version=None) == config
    assert call(agent_gateway, "tasks/pushNotificationConfig/list", {"id": task["id"]}, version=None) == [config]
    assert call(agent_gateway, "tasks/pushNotificationConfig/delete",
                {"id": task["id"], "pushNotificationConfigId": "old-1"}, version=None) is None


def test_a_push_url_must_be_http(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    task = call(agent_gateway, "SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER",
                                                           "parts": [{"text": "x"}]}})["task"]
    answer = httpx.post(f"{agent_gateway.url}/a2a/research_agent", timeout=30,
                        headers={"Authorization": f"Bearer {MASTER_KEY}", "A2A-Version": "1.0"},
                        json=rpc("CreateTaskPushNotificationConfig", {"taskId": task["id"], "url": "file:///etc"}))
    assert answer.json()["error"]["code"] == -32602


def test_a_0_3_push_config_gets_the_0_3_task(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                             receiver: RecordingServer) -> None:
    task = call(agent_gateway, "message/send", {
        "message": {"kind": "message", "messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "x"}]},
        "configuration": {"pushNotificationConfig": {"url": f"{receiver.url}/old", "token": "tok-0"}}}, version=None)
    [pushed] = wait_until(lambda: list(receiver.requests))
    assert (pushed.path, pushed.headers["x-a2a-notification-token"]) == ("/old", "tok-0")
    assert (pushed.json()["kind"], pushed.json()["id"], pushed.json()["status"]["state"]) == (
        "task", task["id"], "completed")


def failing_first(times: int, status: int = 503) -> Any:
    """A responder that answers `status` to its first `times` requests, then 200."""
    lock, seen = threading.Lock(), [0]

    def respond(request: Any) -> Reply:
        with lock:
            seen[0] += 1
            failing = seen[0] <= times
        return Reply.json(status, {"error": "not now"}) if failing else Reply.json(200, {"ok": True})
    return respond


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"  # nothing listens there any more


def send_with_push(gateway: GatewayProcess, url: str, text: str = "notify me") -> dict[str, Any]:
    return dict(call(gateway, "SendMessage", {
        "message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": text}]},
        "configuration": {"taskPushNotificationConfig": {
            "url": url, "token": "tok-9", "authentication": {"scheme": "Bearer", "credentials": "cred-9"}}}})["task"])


def test_a_failing_receiver_gets_the_task_again_until_it_takes_it(agent_gateway: GatewayProcess,
                                                                  models: OpenAIUpstream) -> None:
    with RecordingServer(failing_first(2)) as flaky:
        task = send_with_push(agent_gateway, f"{flaky.url}/hook")
        pushes = wait_until(lambda: flaky.requests if len(flaky.requests) >= 3 else None)
        row = wait_until(lambda: AgentPushDelivery.objects.filter(task_id=task["id"], delivered_at__isnull=False)
                         .first())
    assert len(pushes) == 3
    assert {(p.headers["x-a2a-notification-token"], p.headers["authorization"]) for p in pushes} == {
        ("tok-9", "Bearer cred-9")}
    assert [(p.json()["task"]["id"], p.json()["task"]["status"]["state"]) for p in pushes] == [
        (task["id"], "TASK_STATE_COMPLETED")] * 3
    assert (row.attempts, row.next_attempt_at, row.last_error) == (3, None, "")


def test_a_dead_url_holds_up_neither_the_task_nor_other_deliveries(agent_gateway: GatewayProcess,
                                                                   models: OpenAIUpstream,
                                                                   receiver: RecordingServer) -> None:
    dead = send_with_push(agent_gateway, closed_port_url(), "first")
    assert dead["status"]["state"] == "TASK_STATE_COMPLETED"
    live = send_with_push(agent_gateway, f"{receiver.url}/hook", "second")
    [pushed] = wait_until(lambda: list(receiver.requests))
    assert pushed.json()["task"]["id"] == live["id"]
    given_up = wait_until(lambda: AgentPushDelivery.objects.filter(
        task_id=dead["id"], attempts=PUSH_ATTEMPTS, next_attempt_at__isnull=True).first())
    assert (given_up.delivered_at, given_up.last_error.startswith("unreachable: ")) == (None, True)


def test_a_refusing_receiver_is_not_asked_again(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    with RecordingServer(failing_first(100, status=404)) as refusing:
        task = send_with_push(agent_gateway, f"{refusing.url}/gone")
        row = wait_until(lambda: AgentPushDelivery.objects.filter(task_id=task["id"], attempts=1,
                                                                  next_attempt_at__isnull=True).first())
        assert (len(refusing.requests), row.delivered_at, row.last_error) == (1, None, "answered 404")


def test_a_delivery_its_process_left_behind_is_sent_by_the_beat_task(transactional_db: None, settings: Any,
                                                                     receiver: RecordingServer) -> None:
    settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL = True  # the receiver is on 127.0.0.1
    now = timezone.now()
    AgentTask.objects.create(task_id="t-left", agent_id="a", context_id="c", owner="o")
    left = AgentPushDelivery.objects.create(task_id="t-left", config_id="c1", url=f"{receiver.url}/late",
                                            headers={"x-a2a-notification-token": "tok-late"},
                                            body={"task": {"id": "t-left"}}, attempts=1,
                                            next_attempt_at=now - timedelta(seconds=5))
    held = AgentPushDelivery.objects.create(task_id="t-left", config_id="c2", url=f"{receiver.url}/held",
                                            body={"task": {"id": "t-left"}}, attempts=1,
                                            next_attempt_at=now + timedelta(seconds=60))  # claimed elsewhere
    assert push_deliver_due_task() == 1
    [pushed] = receiver.requests
    assert (pushed.path, pushed.headers["x-a2a-notification-token"], pushed.json()) == (
        "/late", "tok-late", {"task": {"id": "t-left"}})
    left.refresh_from_db()
    held.refresh_from_db()
    assert (left.attempts, left.delivered_at is not None, left.next_attempt_at) == (2, True, None)
    assert (held.attempts, held.delivered_at) == (1, None)


def test_settled_deliveries_drop_their_credentials_and_are_pruned_after_the_keep_days(db: None) -> None:
    from apps.agents.deliveries import delivery_settle
    from apps.agents.tasks import push_prune_task

    now = timezone.now()
    headers = {"authorization": "Bearer push-secret"}
    delivered, owed, old_given_up = (AgentPushDelivery.objects.create(
        task_id=f"t{n}", config_id="c", url="http://127.0.0.1:9/", headers=headers, next_attempt_at=now)
        for n in range(3))
    delivery_settle(delivery_id=delivered.pk, delivered_at=now, retry_at=None, error="")
    delivery_settle(delivery_id=owed.pk, delivered_at=None, retry_at=now + timedelta(seconds=5), error="503")
    delivery_settle(delivery_id=old_given_up.pk, delivered_at=None, retry_at=None, error="404")
    assert AgentPushDelivery.objects.get(pk=delivered.pk).headers == {}
    assert AgentPushDelivery.objects.get(pk=owed.pk).headers == headers  # still owed: it needs them
    AgentPushDelivery.objects.filter(pk=old_given_up.pk).update(created_at=now - timedelta(days=30))

    assert push_prune_task.apply().get() == 1
    assert set(AgentPushDelivery.objects.values_list("pk", flat=True)) == {delivered.pk, owed.pk}
