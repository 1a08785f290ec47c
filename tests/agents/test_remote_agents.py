"""Remote agents behind the gateway: an agent built with a2a-sdk's server side (1.0 and 0.3 JSON-RPC, streaming or
not) and a hand-written 0.3 agent that is still working when it answers. The card is fetched once and used
afterwards, versions are bridged both ways, the task is followed to its end, cancel reaches the agent, and
forwarded calls carry the trace id and the agent id."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from a2a.types import CancelTaskRequest
from google.protobuf.json_format import MessageToDict

from apps.agents.models import Agent
from apps.agents.registry import GENERATION
from apps.core.state import state
from tests.agents.conftest import rpc, wait_until
from tests.agents.test_a2a_sdk import artifact_texts, ask, client_for, collect
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.a2a_agent import PollingAgent, SdkAgent

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture
def sdk_agent(transactional_db: None) -> Iterator[SdkAgent]:
    with SdkAgent() as agent:
        yield agent


def register(gateway: GatewayProcess, name: str, **params: Any) -> str:
    """POST /v1/agents as LiteLLM's clients do: a card without a url, the agent's address in litellm_params."""
    answer = httpx.post(f"{gateway.url}/v1/agents", headers=AUTH, timeout=30, json={
        "agent_name": name, "agent_card_params": {"name": name, "description": f"{name} behind the gateway"},
        "litellm_params": params})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["agent_id"])


def calls_to(agent: SdkAgent, path_suffix: str = "") -> list[dict[str, str]]:
    return [h for h in agent.headers if "x-litellm-agent-id" in h]


def test_remote_agent_answers_through_the_gateway_with_trace_and_agent_ids(agent_gateway: GatewayProcess,
                                                                          sdk_agent: SdkAgent) -> None:
    agent_id = register(agent_gateway, "echo", api_base=sdk_agent.base)

    async def scenario() -> list[dict[str, Any]]:
        client = await client_for(agent_gateway, agent_id)
        first = await collect(client.send_message(ask("hello")))
        return first + await collect(client.send_message(ask("again")))

    events = asyncio.run(scenario())
    finals = [e["statusUpdate"]["status"]["state"] for e in events if "statusUpdate" in e]
    assert finals[-1] == "TASK_STATE_COMPLETED"
    texts = [p["text"] for e in events if "artifactUpdate" in e for p in e["artifactUpdate"]["artifact"]["parts"]]
    assert texts == ["remote says: hello", "remote says: again"]
    forwarded = calls_to(sdk_agent)
    assert [(h["x-litellm-agent-id"], h["a2a-version"]) for h in forwarded] == [(agent_id, "1.0")] * 2
    assert all(len(h["x-litellm-trace-id"]) == 36 for h in forwarded)
    card_fetches = [h for h in sdk_agent.headers if "x-litellm-agent-id" not in h]
    assert len(card_fetches) == 1  # fetched once, then the stored card is used
    assert Agent.objects.get(agent_id=agent_id).remote_card["name"] == "Remote Echo"


def test_a_0_3_client_reaches_a_1_0_agent_and_its_trace_id_is_kept(agent_gateway: GatewayProcess,
                                                                  sdk_agent: SdkAgent) -> None:
    agent_id = register(agent_gateway, "echo-old-client", api_base=sdk_agent.base)
    answer = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", timeout=30,
                        headers={**AUTH, "X-LiteLLM-Trace-Id": "trace-from-client"},
                        json=rpc("message/send", {"message": {"kind": "message", "messageId": "m1", "role": "user",
                                                              "parts": [{"kind": "text", "text": "old"}]}}))
    result = answer.json()["result"]
    assert (result["kind"], result["status"]["state"]) == ("task", "completed")
    assert result["artifacts"][0]["parts"] == [{"kind": "text", "text": "remote says: old"}]
    [forwarded] = calls_to(sdk_agent)
    assert (forwarded["a2a-version"], forwarded["x-litellm-trace-id"]) == ("1.0", "trace-from-client")


def test_a_1_0_client_reaches_an_agent_held_to_0_3(agent_gateway: GatewayProcess, sdk_agent: SdkAgent) -> None:
    agent_id = register(agent_gateway, "echo-0-3", api_base=sdk_agent.base, protocol_version="0.3")

    async def scenario() -> list[dict[str, Any]]:
        client = await client_for(agent_gateway, agent_id, streaming=False)
        return await collect(client.send_message(ask("bridged")))

    [event] = asyncio.run(scenario())
    assert (event["task"]["status"]["state"], artifact_texts(event["task"])) == (
        "TASK_STATE_COMPLETED", ["remote says: bridged"])
    assert [h["a2a-version"] for h in calls_to(sdk_agent)] == ["0.3"]


def test_cancel_through_the_gateway_cancels_the_remote_task(agent_gateway: GatewayProcess,
                                                            sdk_agent: SdkAgent) -> None:
    agent_id = register(agent_gateway, "echo-cancel", api_base=sdk_agent.base)

    async def scenario() -> dict[str, Any]:
        client = await client_for(agent_gateway, agent_id)
        stream = client.send_message(ask("wait"))
        first = MessageToDict(await anext(stream))
        await asyncio.to_thread(sdk_agent.executor.working.wait, 15)
        canceled = await client.cancel_task(CancelTaskRequest(id=first["task"]["id"]))
        await stream.aclose()
        return MessageToDict(canceled)

    canceled = asyncio.run(scenario())
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
    assert wait_until(sdk_agent.executor.canceled.is_set)


def test_a_remote_task_still_working_is_polled_to_its_end(agent_gateway: GatewayProcess,
                                                          transactional_db: None) -> None:
    with PollingAgent(polls=3) as remote:
        agent_id = register(agent_gateway, "poller", api_base=remote.url)
        answer = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", headers={**AUTH, "A2A-Version": "1.0"}, timeout=30,
                            json=rpc("SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER",
                                                                 "parts": [{"text": "take your time"}]}}))
        task = answer.json()["result"]["task"]
        assert task["status"]["state"] == "TASK_STATE_COMPLETED"
        assert artifact_texts(task) == ["done at last"]
        assert remote.gets == 3
        sent = [r.json() for r in remote.requests if r.method == "POST"][0]
        assert sent["params"]["message"]["parts"] == [{"kind": "text", "text": "take your time"}]
        assert "taskId" not in sent["params"]["message"]  # the gateway's ids stay ours
        assert task["id"] != "remote-task-1"


def test_a_registered_card_with_a_url_is_used_without_fetching(agent_gateway: GatewayProcess,
                                                              transactional_db: None) -> None:
    with PollingAgent(polls=1) as remote:
        answer = httpx.post(f"{agent_gateway.url}/v1/agents", headers=AUTH, timeout=30, json={
            "agent_name": "carded", "agent_card_params": remote.card(), "litellm_params": {}})
        agent_id = answer.json()["agent_id"]
        done = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", headers=AUTH, timeout=30,
                          json=rpc("message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                                                "parts": [{"kind": "text", "text": "go"}]}}))
        assert done.json()["result"]["status"]["state"] == "completed"
        assert [r.method for r in remote.requests] == ["POST", "POST"]  # send, then one poll: no card fetch


def test_an_unreachable_remote_agent_fails_the_task(agent_gateway: GatewayProcess, transactional_db: None) -> None:
    agent_id = register(agent_gateway, "gone", api_base="http://127.0.0.1:9")
    answer = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", headers=AUTH, timeout=30,
                        json=rpc("message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                                              "parts": [{"kind": "text", "text": "anyone?"}]}}))
    result = answer.json()["result"]
    assert result["status"]["state"] == "failed"
    assert "could not fetch the card of agent gone" in result["status"]["message"]["parts"][0]["text"]


def test_a_get_put_round_trip_keeps_the_remote_where_it_is(agent_gateway: GatewayProcess, sdk_agent: SdkAgent) -> None:
    agent_id = register(agent_gateway, "round-trip", api_base=sdk_agent.base, api_key="sk-remote-secret")
    read = httpx.get(f"{agent_gateway.url}/v1/agents/{agent_id}", headers=AUTH, timeout=30).json()
    assert read["agent_card_params"] == {"name": "round-trip", "description": "round-trip behind the gateway"}
    put = httpx.put(f"{agent_gateway.url}/v1/agents/{agent_id}", headers=AUTH, timeout=30, json={
        "agent_name": read["agent_name"], "agent_card_params": read["agent_card_params"],
        "litellm_params": {**read["litellm_params"], "api_key": "sk-remote-secret"}})
    assert put.status_code == 200, put.text
    answer = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", headers=AUTH, timeout=30,
                        json=rpc("message/send", {"message": {"kind": "message", "messageId": "m1", "role": "user",
                                                              "parts": [{"kind": "text", "text": "still there?"}]}}))
    result = answer.json()["result"]
    assert (result["status"]["state"], result["artifacts"][0]["parts"]) == (
        "completed", [{"kind": "text", "text": "remote says: still there?"}])
    [forwarded] = calls_to(sdk_agent)
    assert forwarded["authorization"] == "Bearer sk-remote-secret"


def test_a_card_naming_the_gateway_is_refused_as_the_remotes_address(agent_gateway: GatewayProcess,
                                                                     transactional_db: None) -> None:
    agent_id = register(agent_gateway, "self-ref", api_base="http://127.0.0.1:9")
    served = httpx.get(f"{agent_gateway.url}/a2a/{agent_id}/.well-known/agent-card.json", headers=AUTH, timeout=30)
    put = httpx.put(f"{agent_gateway.url}/v1/agents/{agent_id}", headers=AUTH, timeout=30, json={
        "agent_name": "self-ref", "agent_card_params": served.json(), "litellm_params": {}})
    assert put.status_code == 400
    assert (put.json()["error"]["param"], put.json()["error"]["code"]) == (
        "agent_card_params.url", "agent_card_points_at_gateway")
    Agent.objects.filter(agent_id=agent_id).update(agent_card_params=served.json())  # a row written before the check
    state().bump_generation(GENERATION)
    answer = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", headers=AUTH, timeout=30,
                        json=rpc("message/send", {"message": {"kind": "message", "messageId": "m1", "role": "user",
                                                              "parts": [{"kind": "text", "text": "loop?"}]}}))
    result = answer.json()["result"]
    assert result["status"]["state"] == "failed"  # api_base (nothing listens there), never the gateway itself
    assert "could not fetch the card of agent self-ref" in result["status"]["message"]["parts"][0]["text"]


@pytest.mark.parametrize("streaming", [True, False], ids=["stream_case", "send_case"])
def test_a_1_0_agent_offering_only_http_json_is_called_over_it(agent_gateway: GatewayProcess,
                                                               transactional_db: None, streaming: bool) -> None:
    with SdkAgent(rest_only=True, streaming=streaming) as remote:
        agent_id = register(agent_gateway, "rest-only", api_base=remote.base)

        async def scenario() -> list[dict[str, Any]]:
            client = await client_for(agent_gateway, agent_id, version="0.3", streaming=False)  # a 0.3 client, even
            return await collect(client.send_message(ask("over rest")))

        [event] = asyncio.run(scenario())
        assert (event["task"]["status"]["state"], artifact_texts(event["task"])) == (
            "TASK_STATE_COMPLETED", ["remote says: over rest"])
        forwarded = [(h["a2a-version"], h.get("content-type")) for h in remote.headers if "x-litellm-agent-id" in h]
        assert forwarded[0] == ("1.0", "application/json")
        assert remote.paths[0] == "/.well-known/agent-card.json"
        assert remote.paths[1] == ("/rest/message:stream" if streaming else "/rest/message:send")


def test_a_card_only_at_the_older_path_is_fetched_from_there(agent_gateway: GatewayProcess,
                                                             transactional_db: None) -> None:
    with SdkAgent(old_card_path=True) as remote:
        agent_id = register(agent_gateway, "old-card", api_base=remote.base)
        answer = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", headers=AUTH, timeout=30,
                            json=rpc("message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                                                  "parts": [{"kind": "text", "text": "found"}]}}))
        assert answer.json()["result"]["status"]["state"] == "completed", answer.text
        assert remote.paths[:3] == ["/.well-known/agent-card.json", "/.well-known/agent.json", "/rpc"]
    assert Agent.objects.get(agent_id=agent_id).remote_card["name"] == "Remote Echo"


def test_the_extensions_header_reaches_the_remote_agent(agent_gateway: GatewayProcess, sdk_agent: SdkAgent) -> None:
    agent_id = register(agent_gateway, "ext", api_base=sdk_agent.base)
    extensions = "https://example.com/ext/citations/v1, https://example.com/ext/trace/v2"
    answer = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", timeout=30, headers={**AUTH, "A2A-Extensions": extensions},
                        json=rpc("message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                                              "parts": [{"kind": "text", "text": "ext"}]}}))
    assert answer.json()["result"]["status"]["state"] == "completed", answer.text
    assert [h.get("a2a-extensions") for h in calls_to(sdk_agent)] == [extensions]


@pytest.mark.parametrize("version", ["1.0", "0.3"], ids=["v1_0_case", "v0_3_case"])
def test_a_remote_stream_reaches_the_client_before_the_remote_finishes(agent_gateway: GatewayProcess,
                                                                       sdk_agent: SdkAgent, version: str) -> None:
    agent_id = register(agent_gateway, "slow-echo", api_base=sdk_agent.base)
    method = "SendStreamingMessage" if version == "1.0" else "message/stream"
    message = {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "slow"}]} if version == "1.0" else \
        {"kind": "message", "messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "slow"}]}
    texts, finished_before_first = [], None
    with httpx.stream("POST", f"{agent_gateway.url}/a2a/{agent_id}", headers={**AUTH, "A2A-Version": version},
                      json=rpc(method, {"message": message}), timeout=30) as answer:
        for line in answer.iter_lines():
            if not line.startswith("data: "):
                continue
            result = json.loads(line[6:])["result"]
            artifact = result.get("artifactUpdate", {}).get("artifact") or result.get("artifact") or {}
            texts += [part["text"] for part in artifact.get("parts") or []]
            if texts and finished_before_first is None:
                finished_before_first = sdk_agent.executor.finished.is_set()
                sdk_agent.executor.release.set()  # the remote finishes only now that its first piece is here
    assert finished_before_first is False
    assert texts == ["first piece", ", then the rest"]


def test_cancel_reaches_a_remote_agent_that_does_not_stream(agent_gateway: GatewayProcess,
                                                             transactional_db: None) -> None:
    with SdkAgent(streaming=False) as remote:
        agent_id = register(agent_gateway, "echo-no-stream", api_base=remote.base)
        sent = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", headers={**AUTH, "A2A-Version": "1.0"}, timeout=30,
                          json=rpc("SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER",
                                                               "parts": [{"text": "wait"}]},
                                                   "configuration": {"returnImmediately": True}})).json()
        task_id = sent["result"]["task"]["id"]
        assert remote.executor.working.wait(15)
        canceled = httpx.post(f"{agent_gateway.url}/a2a/{agent_id}", headers={**AUTH, "A2A-Version": "1.0"},
                              timeout=30, json=rpc("CancelTask", {"id": task_id})).json()
        assert canceled["result"]["status"]["state"] == "TASK_STATE_CANCELED"
        assert wait_until(remote.executor.canceled.is_set)  # the gateway knew the remote task's id: it canceled it
        forwarded = [h for h in remote.headers if "x-litellm-agent-id" in h]
        assert len(forwarded) >= 2  # the send, then polls and the cancel
