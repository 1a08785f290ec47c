"""The official a2a-sdk clients against the live gateway: the 1.x client (JSON-RPC 1.0 and HTTP+JSON) and its
bundled 0.3 client (the SDK's compat transport, which speaks 0.3's wire format with `A2A-Version: 0.3`), for card
discovery, send, stream, get, list, cancel, resubscribe and auth failure. The released 0.3 SDK, which sends no
version header, is run in test_legacy_sdk.py."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.errors import AgentCardResolutionError
from a2a.types import (AgentCard, CancelTaskRequest, DeleteTaskPushNotificationConfigRequest,
                       GetExtendedAgentCardRequest, GetTaskPushNotificationConfigRequest, GetTaskRequest,
                       ListTaskPushNotificationConfigsRequest, ListTasksRequest, Message, Part, Role,
                       SendMessageRequest, StreamResponse, SubscribeToTaskRequest, TaskPushNotificationConfig,
                       TaskState)
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError
from google.protobuf.json_format import MessageToDict

from tests.agents.conftest import a2a_http
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream

MOCK = "This is a mock response to:"


async def card_of(gateway: GatewayProcess, agent: str, key: str = MASTER_KEY) -> AgentCard:
    async with a2a_http(gateway, key) as client:
        return await A2ACardResolver(client, f"{gateway.url}/a2a/{agent}").get_agent_card()


def only(card: AgentCard, binding: str, version: str) -> AgentCard:
    """The card with one interface left: what makes the SDK pick that binding and version."""
    picked = AgentCard()
    picked.CopyFrom(card)
    del picked.supported_interfaces[:]
    picked.supported_interfaces.extend([i for i in card.supported_interfaces
                                        if i.protocol_binding == binding and i.protocol_version == version])
    return picked


async def client_for(gateway: GatewayProcess, agent: str, *, binding: str = "JSONRPC", version: str = "1.0",
                     streaming: bool = True) -> Any:
    card = only(await card_of(gateway, agent), binding, version)
    config = ClientConfig(streaming=streaming, httpx_client=a2a_http(gateway),
                          supported_protocol_bindings=[binding])
    return ClientFactory(config).create(card)


def ask(text: str, **fields: Any) -> SendMessageRequest:
    return SendMessageRequest(message=Message(role=Role.ROLE_USER, message_id=f"m-{text[:8]}",
                                              parts=[Part(text=text)], **fields))


async def collect(events: AsyncIterator[StreamResponse]) -> list[dict[str, Any]]:
    return [MessageToDict(event) async for event in events]


def artifact_texts(task: dict[str, Any]) -> list[str]:
    return [part["text"] for artifact in task.get("artifacts", []) for part in artifact["parts"]]


def test_card_names_the_gateway_for_every_interface_and_its_bearer_scheme(agent_gateway: GatewayProcess) -> None:
    card = asyncio.run(card_of(agent_gateway, "research_agent"))
    endpoint = f"{agent_gateway.url}/a2a/research_agent"
    assert [(i.url, i.protocol_binding, i.protocol_version) for i in card.supported_interfaces] == [
        (endpoint, "JSONRPC", "1.0"), (endpoint, "HTTP+JSON", "1.0"), (endpoint, "JSONRPC", "0.3")]
    assert (card.name, card.description, card.capabilities.streaming) == (
        "research_agent", "Researches topics and provides summaries", True)
    assert MessageToDict(card.security_schemes["bearer"]) == {
        "httpAuthSecurityScheme": {"scheme": "bearer", "description": "a Tollgate virtual key"}}


def test_older_card_path_serves_the_same_card(agent_gateway: GatewayProcess) -> None:
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    new = httpx.get(f"{agent_gateway.url}/a2a/research_agent/.well-known/agent-card.json", headers=headers)
    old = httpx.get(f"{agent_gateway.url}/a2a/research_agent/.well-known/agent.json", headers=headers)
    assert new.status_code == old.status_code == 200
    assert new.json() == old.json()
    assert (new.json()["url"], new.json()["protocolVersion"]) == (f"{agent_gateway.url}/a2a/research_agent", "0.3.0")


def test_card_needs_a_key(agent_gateway: GatewayProcess) -> None:
    with pytest.raises(AgentCardResolutionError):
        asyncio.run(card_of(agent_gateway, "research_agent", key="sk-not-a-key"))


@pytest.mark.parametrize(("binding", "version"), [("JSONRPC", "1.0"), ("HTTP+JSON", "1.0"), ("JSONRPC", "0.3")],
                         ids=["jsonrpc_1_0_case", "http_json_1_0_case", "jsonrpc_0_3_case"])
def test_send_runs_the_in_code_agent_to_completion(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                                   binding: str, version: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        client = await client_for(agent_gateway, "research_agent", binding=binding, version=version, streaming=False)
        return await collect(client.send_message(ask("quantum computing")))

    [event] = asyncio.run(scenario())
    task = event["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert artifact_texts(task) == [f"{MOCK} quantum computing"]
    [seen] = models.requests
    assert seen.json()["messages"] == [{"role": "system", "content": "You are a research assistant."},
                                       {"role": "user", "content": "quantum computing"}]


@pytest.mark.parametrize(("binding", "version"), [("JSONRPC", "1.0"), ("HTTP+JSON", "1.0"), ("JSONRPC", "0.3")],
                         ids=["v1_0_case", "http_json_case", "v0_3_case"])
def test_stream_sends_the_task_then_each_update(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                                binding: str, version: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        client = await client_for(agent_gateway, "research_agent", binding=binding, version=version)
        return await collect(client.send_message(ask("streams")))

    events = asyncio.run(scenario())
    assert [next(iter(event)) for event in events] == ["task", "statusUpdate", "artifactUpdate", "statusUpdate"]
    assert events[0]["task"]["status"]["state"] == "TASK_STATE_SUBMITTED"
    assert [events[1]["statusUpdate"]["status"]["state"], events[3]["statusUpdate"]["status"]["state"]] == [
        "TASK_STATE_WORKING", "TASK_STATE_COMPLETED"]
    assert events[2]["artifactUpdate"]["artifact"]["parts"] == [{"text": f"{MOCK} streams"}]
    assert {event[next(iter(event))].get("taskId", event[next(iter(event))].get("id")) for event in events} == {
        events[0]["task"]["id"]}


@pytest.mark.parametrize(("binding", "version"), [("JSONRPC", "1.0"), ("HTTP+JSON", "1.0"), ("JSONRPC", "0.3")],
                         ids=["v1_0_case", "http_json_case", "v0_3_case"])
def test_get_and_list_read_the_stored_task(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                           binding: str, version: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], Any]:
        client = await client_for(agent_gateway, "research_agent", binding=binding, version=version,
                                  streaming=False)
        [sent] = await collect(client.send_message(ask("kept")))
        task = MessageToDict(await client.get_task(GetTaskRequest(id=sent["task"]["id"], history_length=1)))
        listed = None
        if version == "1.0":
            listed = MessageToDict(await client.list_tasks(ListTasksRequest(context_id=sent["task"]["contextId"])))
        return sent["task"], task, listed

    sent, task, listed = asyncio.run(scenario())
    assert (task["id"], task["status"]["state"], artifact_texts(task)) == (
        sent["id"], "TASK_STATE_COMPLETED", [f"{MOCK} kept"])
    assert [m["parts"] for m in task["history"]] == [[{"text": "kept"}]]
    if listed is not None:
        assert ([t["id"] for t in listed["tasks"]], listed["totalSize"]) == ([sent["id"]], 1)


def test_unknown_task_is_task_not_found(agent_gateway: GatewayProcess) -> None:
    async def scenario() -> None:
        client = await client_for(agent_gateway, "research_agent")
        await client.get_task(GetTaskRequest(id="no-such-task"))

    with pytest.raises(TaskNotFoundError):
        asyncio.run(scenario())


@pytest.mark.parametrize(("binding", "version"), [("JSONRPC", "1.0"), ("HTTP+JSON", "1.0"), ("JSONRPC", "0.3")],
                         ids=["v1_0_case", "http_json_case", "v0_3_case"])
def test_cancel_stops_the_work_and_a_resubscribed_stream_sees_it(agent_gateway: GatewayProcess,
                                                                 binding: str, version: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
        client = await client_for(agent_gateway, "waiting_agent", binding=binding, version=version)
        first: list[dict[str, Any]] = []
        async for event in client.send_message(ask("take your time")):  # leave the stream once it works
            first.append(MessageToDict(event))
            if "statusUpdate" in first[-1]:
                break
        task_id = first[0]["task"]["id"]
        subscribed = client.subscribe(SubscribeToTaskRequest(id=task_id))
        resumed = [MessageToDict(await anext(subscribed))]
        canceled = MessageToDict(await client.cancel_task(CancelTaskRequest(id=task_id)))
        resumed += await collect(subscribed)
        return first, canceled, resumed

    first, canceled, resumed = asyncio.run(scenario())
    assert first[1]["statusUpdate"]["status"]["state"] == "TASK_STATE_WORKING"
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
    assert resumed[0]["task"]["status"]["state"] == "TASK_STATE_WORKING"
    assert resumed[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_CANCELED"


def test_an_ended_task_cannot_be_canceled(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    async def scenario() -> None:
        client = await client_for(agent_gateway, "research_agent", streaming=False)
        [sent] = await collect(client.send_message(ask("finished")))
        await client.cancel_task(CancelTaskRequest(id=sent["task"]["id"]))

    with pytest.raises(TaskNotCancelableError):
        asyncio.run(scenario())


def test_a_wrong_key_is_refused_on_send(agent_gateway: GatewayProcess) -> None:
    async def scenario() -> None:
        card = only(await card_of(agent_gateway, "research_agent"), "JSONRPC", "1.0")
        config = ClientConfig(streaming=False, httpx_client=a2a_http(agent_gateway, "sk-wrong"))
        client = ClientFactory(config).create(card)
        await collect(client.send_message(ask("hello")))

    with pytest.raises(Exception) as refused:
        asyncio.run(scenario())
    assert "401" in str(refused.value) or "Unauthenticated" in type(refused.value).__name__ or \
        "key" in str(refused.value).lower()


def test_state_spelling_is_converted_for_0_3(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    answer = httpx.post(f"{agent_gateway.url}/a2a/research_agent", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                        json={"jsonrpc": "2.0", "id": "r1", "method": "message/send", "params": {"message": {
                            "kind": "message", "messageId": "m1", "role": "user",
                            "parts": [{"kind": "text", "text": "old client"}]}}}, timeout=30)
    result = answer.json()["result"]
    assert (result["kind"], result["status"]["state"]) == ("task", "completed")
    assert result["artifacts"][0]["parts"] == [{"kind": "text", "text": f"{MOCK} old client"}]
    assert [(m["kind"], m["role"]) for m in result["history"]] == [("message", "user")]


@pytest.mark.parametrize("bindings", [["JSONRPC"], ["HTTP+JSON", "JSONRPC"]], ids=["jsonrpc_case", "http_json_case"])
def test_a_1_x_client_given_the_full_card_speaks_1_0(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                                     bindings: list[str]) -> None:
    sent: list[tuple[str, str, str | None]] = []

    async def record(request: httpx.Request) -> None:
        sent.append((request.method, request.url.path, request.headers.get("a2a-version")))

    async def scenario() -> list[dict[str, Any]]:
        card = await card_of(agent_gateway, "research_agent")  # every interface, as served
        http = httpx.AsyncClient(headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30,
                                 event_hooks={"request": [record]})
        config = ClientConfig(streaming=False, httpx_client=http, supported_protocol_bindings=bindings,
                              use_client_preference=True)
        return await collect(ClientFactory(config).create(card).send_message(ask("full card")))

    [event] = asyncio.run(scenario())
    assert (event["task"]["status"]["state"], artifact_texts(event["task"])) == (
        "TASK_STATE_COMPLETED", [f"{MOCK} full card"])
    path = "/a2a/research_agent" + ("/message:send" if bindings[0] == "HTTP+JSON" else "")
    assert sent == [("POST", path, "1.0")]


@pytest.mark.parametrize("binding", ["JSONRPC", "HTTP+JSON"], ids=["jsonrpc_case", "http_json_case"])
def test_push_configs_and_the_extended_card_over_each_1_0_binding(agent_gateway: GatewayProcess,
                                                                 models: OpenAIUpstream, binding: str) -> None:
    async def scenario() -> tuple[str, list[dict[str, Any]], AgentCard]:
        client = await client_for(agent_gateway, "research_agent", binding=binding, streaming=False)
        [sent] = await collect(client.send_message(ask("configs")))
        task_id = sent["task"]["id"]
        config = TaskPushNotificationConfig(task_id=task_id, id="cfg-1", url="https://hooks.example.com/a2a",
                                            token="tok-1")
        seen = [MessageToDict(await client.create_task_push_notification_config(config)),
                MessageToDict(await client.get_task_push_notification_config(
                    GetTaskPushNotificationConfigRequest(task_id=task_id, id="cfg-1"))),
                MessageToDict(await client.list_task_push_notification_configs(
                    ListTaskPushNotificationConfigsRequest(task_id=task_id)))]
        await client.delete_task_push_notification_config(DeleteTaskPushNotificationConfigRequest(task_id=task_id,
                                                                                                  id="cfg-1"))
        seen.append(MessageToDict(await client.list_task_push_notification_configs(
            ListTaskPushNotificationConfigsRequest(task_id=task_id))))
        return task_id, seen, await client.get_extended_agent_card(GetExtendedAgentCardRequest())

    task_id, seen, card = asyncio.run(scenario())
    config = {"taskId": task_id, "id": "cfg-1", "url": "https://hooks.example.com/a2a", "token": "tok-1"}
    assert seen == [config, config, {"configs": [config]}, {}]
    endpoint = f"{agent_gateway.url}/a2a/research_agent"
    assert (card.name, [(i.url, i.protocol_binding) for i in card.supported_interfaces][:2]) == (
        "research_agent", [(endpoint, "JSONRPC"), (endpoint, "HTTP+JSON")])
