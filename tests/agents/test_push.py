"""Push notification configs over JSON-RPC (1.0 and 0.3) and their delivery when a task ends."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.agents.conftest import rpc, wait_until
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
