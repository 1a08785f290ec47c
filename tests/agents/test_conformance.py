"""A2A conformance, walked requirement by requirement against the live gateway (no official suite installs from
the package registries: `pip download a2a-tck` finds none). Each test names the MUST it checks, in the 1.0.1
specification (a2aproject/A2A docs/specification.md at v1.0.1) or the 0.3.0 one, and checks it through the
official a2a-sdk client where the SDK exposes the operation, over raw JSON-RPC where the rule is about the wire."""
from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from a2a.types import SubscribeToTaskRequest
from google.protobuf.json_format import MessageToDict

from tests.agents.conftest import rpc
from tests.agents.test_a2a_sdk import MOCK, ask, client_for, collect
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import make_key
from tests.upstreams.openai import OpenAIUpstream

UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def call(gateway: GatewayProcess, method: str, params: Any, *, version: str | None = "1.0",
         agent: str = "research_agent", key: str = MASTER_KEY) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}", **({"A2A-Version": version} if version else {})}
    answer = httpx.post(f"{gateway.url}/a2a/{agent}", headers=headers, json=rpc(method, params), timeout=60)
    assert answer.headers["content-type"].startswith("application/json")  # 0.3 §3.2.1: JSON-RPC is application/json
    body: dict[str, Any] = answer.json()
    assert body["jsonrpc"] == "2.0"
    return body


def sent(gateway: GatewayProcess, text: str, **message: Any) -> dict[str, Any]:
    body = call(gateway, "SendMessage", {"message": {"messageId": f"m-{text}", "role": "ROLE_USER",
                                                     "parts": [{"text": text}], **message}})
    assert "result" in body, body
    return dict(body["result"]["task"])


# 1.0


def test_a_blocking_send_returns_the_task_ended_with_its_artifacts(agent_gateway: GatewayProcess,
                                                                   models: OpenAIUpstream) -> None:
    """§3.2.2: blocking (the default) MUST wait for a terminal or interrupted state and include all artifacts."""
    task = sent(agent_gateway, "blocking")
    assert (task["status"]["state"], task["artifacts"][0]["parts"]) == (
        "TASK_STATE_COMPLETED", [{"text": f"{MOCK} blocking"}])


def test_ids_enums_and_timestamps_are_in_proto_json(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    """§3.4 (a new taskId and contextId MUST be in the Task), §5.5: camelCase fields, SCREAMING_SNAKE enums,
    timestamps ISO 8601 in UTC with 'Z'."""
    task = sent(agent_gateway, "wire")
    assert task["id"] and task["contextId"]
    assert UTC_ISO.match(task["status"]["timestamp"]), task["status"]["timestamp"]
    assert {m["role"] for m in task["history"]} == {"ROLE_USER"}
    assert "context_id" not in task and "message_id" not in task["history"][0]


def test_a_stream_begins_with_the_task_and_closes_at_its_terminal_state(agent_gateway: GatewayProcess,
                                                                        models: OpenAIUpstream) -> None:
    """§3.1.2: the stream MUST begin with the Task and close when the task reaches a terminal state."""
    async def scenario() -> list[dict[str, Any]]:
        client = await client_for(agent_gateway, "research_agent")
        return await collect(client.send_message(ask("lifecycle")))

    events = asyncio.run(scenario())
    assert next(iter(events[0])) == "task"
    assert events[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"


def test_every_subscriber_gets_the_same_events_in_order_beginning_with_the_task(agent_gateway: GatewayProcess
                                                                                ) -> None:
    """§3.1.6: a subscription's first event MUST be the Task; §3.4.2: events MUST reach every active stream, each
    in the same order, and closing one MUST NOT affect the others."""
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        client = await client_for(agent_gateway, "waiting_agent")
        stream = client.send_message(ask("wait"))
        first = [MessageToDict(await anext(stream)), MessageToDict(await anext(stream))]
        task_id = first[0]["task"]["id"]
        one, two = (client.subscribe(SubscribeToTaskRequest(id=task_id)) for _ in range(2))
        heads = [MessageToDict(await anext(one)), MessageToDict(await anext(two))]
        await one.aclose()  # one subscriber leaves; the other still gets the end
        await stream.aclose()
        body = await asyncio.to_thread(call, agent_gateway, "CancelTask", {"id": task_id}, agent="waiting_agent")
        assert body["result"]["status"]["state"] == "TASK_STATE_CANCELED"
        return heads, [heads[1], *await collect(two)]

    heads, rest = asyncio.run(scenario())
    assert [next(iter(h)) for h in heads] == ["task", "task"]
    assert rest[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_CANCELED"


def test_list_tasks_omits_artifacts_by_default_and_always_has_a_page_token(agent_gateway: GatewayProcess,
                                                                           models: OpenAIUpstream) -> None:
    """§3.1.4: includeArtifacts false (the default) MUST omit artifacts; nextPageToken MUST always be present (""
    on the last page); tasks MUST be sorted by last update, newest first."""
    older = sent(agent_gateway, "older")
    newer = sent(agent_gateway, "newer")
    listed = call(agent_gateway, "ListTasks", {"pageSize": 10})["result"]
    assert [t["id"] for t in listed["tasks"]][:2] == [newer["id"], older["id"]]
    assert all("artifacts" not in t for t in listed["tasks"])
    assert listed["nextPageToken"] == ""
    included = call(agent_gateway, "ListTasks", {"pageSize": 10, "includeArtifacts": True})["result"]
    assert included["tasks"][0]["artifacts"][0]["parts"] == [{"text": f"{MOCK} newer"}]
    first_page = call(agent_gateway, "ListTasks", {"pageSize": 1})["result"]
    assert first_page["nextPageToken"] != "" and len(first_page["tasks"]) == 1


def test_a_task_of_another_caller_does_not_exist_for_you(agent_gateway: GatewayProcess,
                                                         models: OpenAIUpstream) -> None:
    """§3.3.2 / §13.1: servers MUST NOT reveal resources the caller may not access; not found is the answer, and
    listing MUST be scoped to the caller."""
    _, alice = make_key(None, None, key_alias="conf-alice")
    _, bob = make_key(None, None, key_alias="conf-bob")
    body = call(agent_gateway, "SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER",
                                                           "parts": [{"text": "mine"}]}}, key=alice)
    task_id = body["result"]["task"]["id"]
    assert call(agent_gateway, "GetTask", {"id": task_id}, key=bob)["error"]["code"] == -32001
    assert call(agent_gateway, "ListTasks", {}, key=bob)["result"]["tasks"] == []


def test_a_message_must_name_an_existing_task_whose_context_it_shares(agent_gateway: GatewayProcess,
                                                                      models: OpenAIUpstream) -> None:
    """§3.4.3: a taskId MUST reference an existing task (TaskNotFoundError otherwise); a contextId that is not the
    task's MUST be rejected."""
    unknown = call(agent_gateway, "SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER", "taskId": "nope",
                                                              "parts": [{"text": "x"}]}})
    assert unknown["error"]["code"] == -32001
    body = call(agent_gateway, "SendMessage", {"message": {"messageId": "w", "role": "ROLE_USER",
                                                           "parts": [{"text": "wait"}]},
                                               "configuration": {"returnImmediately": True}}, agent="waiting_agent")
    task = body["result"]["task"]
    try:
        mismatch = call(agent_gateway, "SendMessage", {"message": {
            "messageId": "m2", "role": "ROLE_USER", "taskId": task["id"], "contextId": "another-context",
            "parts": [{"text": "x"}]}}, agent="waiting_agent")
        assert mismatch["error"]["code"] == -32602, mismatch
    finally:
        call(agent_gateway, "CancelTask", {"id": task["id"]}, agent="waiting_agent")


def test_deleting_a_push_config_is_idempotent_and_getting_a_missing_one_fails(agent_gateway: GatewayProcess,
                                                                              models: OpenAIUpstream) -> None:
    """§3.1.8: Get MUST fail for a config that does not exist; §3.1.10: Delete MUST be idempotent."""
    task = sent(agent_gateway, "configs")
    created = call(agent_gateway, "CreateTaskPushNotificationConfig",
                   {"taskId": task["id"], "id": "c1", "url": "http://127.0.0.1:9/hook"})["result"]
    assert created["id"] == "c1"
    for _ in range(2):
        assert call(agent_gateway, "DeleteTaskPushNotificationConfig", {"taskId": task["id"], "id": "c1"}) == {
            "jsonrpc": "2.0", "id": 1, "result": {}}
    assert "error" in call(agent_gateway, "GetTaskPushNotificationConfig", {"taskId": task["id"], "id": "c1"})


def test_an_unsupported_version_is_refused_and_none_means_0_3(agent_gateway: GatewayProcess,
                                                              models: OpenAIUpstream) -> None:
    """§3.6.2: an unsupported A2A-Version MUST get VersionNotSupportedError; an empty one MUST be read as 0.3 (and
    the patch number MUST NOT count)."""
    assert call(agent_gateway, "SendMessage", {}, version="2.0")["error"]["code"] == -32009
    legacy = call(agent_gateway, "tasks/get", {"id": "x"}, version=None)
    assert legacy["error"]["code"] == -32001  # a 0.3 method, understood
    assert "error" not in call(agent_gateway, "GetTask", {"id": sent(agent_gateway, "patch")["id"]}, version="1.0.1")


def test_a_request_without_valid_credentials_is_rejected(agent_gateway: GatewayProcess) -> None:
    """§3.3.2 / §7: servers MUST reject requests with invalid or missing credentials."""
    answer = httpx.post(f"{agent_gateway.url}/a2a/research_agent", headers={"A2A-Version": "1.0"},
                        json=rpc("GetTask", {"id": "x"}), timeout=30)
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, -32010)


# 0.3


def test_the_0_3_card_declares_its_preferred_transport_at_its_url(agent_gateway: GatewayProcess) -> None:
    """0.3 §5.6: preferredTransport is REQUIRED and MUST be available at the main url; every interface MUST declare
    its transport."""
    card = httpx.get(f"{agent_gateway.url}/a2a/research_agent/.well-known/agent-card.json", timeout=30,
                     headers={"Authorization": f"Bearer {MASTER_KEY}"}).json()
    assert card["preferredTransport"] == "JSONRPC"
    assert {"url": card["url"], "transport": "JSONRPC"} in card["additionalInterfaces"]
    body = call(agent_gateway, "message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                                            "parts": [{"kind": "text", "text": "hi"}]}}, version=None)
    assert body["result"]["kind"] == "task"


def test_a_0_3_stream_marks_its_last_status_update_final(agent_gateway: GatewayProcess,
                                                         models: OpenAIUpstream) -> None:
    """0.3 §7.2: message/stream sends Task, Message or update events; the stream ends with the status update whose
    `final` is true, and only that one is final."""
    message = {"kind": "message", "messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "final"}]}
    with httpx.stream("POST", f"{agent_gateway.url}/a2a/research_agent", timeout=30, json=rpc("message/stream", {
            "message": message}), headers={"Authorization": f"Bearer {MASTER_KEY}"}) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        results = [httpx.Response(200, content=line[6:]).json()["result"] for line in answer.iter_lines()
                   if line.startswith("data: ")]
    finals = [r.get("final") for r in results if r["kind"] == "status-update"]
    assert (results[0]["kind"], finals) == ("task", [False, True])


@pytest.mark.parametrize(("method", "code"), [("tasks/get", -32001), ("tasks/cancel", -32001)],
                         ids=["get_case", "cancel_case"])
def test_0_3_errors_carry_the_a2a_codes(agent_gateway: GatewayProcess, method: str, code: int) -> None:
    """0.3 §8.2: TaskNotFoundError is -32001 for every method that names a task."""
    assert call(agent_gateway, method, {"id": "missing"}, version=None)["error"]["code"] == code


def test_a_0_3_ended_task_is_not_cancelable(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    """0.3 §7.4: canceling a task that has ended MUST fail with TaskNotCancelableError (-32002)."""
    body = call(agent_gateway, "message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                                            "parts": [{"kind": "text", "text": "done"}]}}, version=None)
    assert call(agent_gateway, "tasks/cancel", {"id": body["result"]["id"]}, version=None)["error"]["code"] == -32002
