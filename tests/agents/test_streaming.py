"""Answers streamed as they are made: a hosted agent's model tokens and an async-generator agent's pieces go out as
A2A append chunks (1.0 and 0.3) and as chat chunks through `a2a/`; cancel mid-stream hangs up on the model."""
from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from a2a.types import CancelTaskRequest, GetTaskRequest
from google.protobuf.json_format import MessageToDict

from tests.agents.conftest import PRICE_PER_TOKEN, hosted, rpc, wait_until
from tests.agents.test_a2a_sdk import MOCK, artifact_texts, ask, client_for, collect
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import make_key, wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream, paced
from tests.upstreams.recording import Recorded


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [next(iter(event)) for event in events]


def pieces(events: list[dict[str, Any]]) -> list[str]:
    return [part.get("text", "") for event in events if "artifactUpdate" in event
            for part in event["artifactUpdate"]["artifact"]["parts"]]


def streamed_requests(models: OpenAIUpstream) -> list[bool]:
    return [request.json().get("stream", False) for request in models.requests]


@pytest.mark.parametrize("agent", ["writer", "typing_agent"], ids=["hosted_case", "async_generator_case"])
def test_a_streamed_answer_arrives_token_by_token_as_append_chunks(agent_gateway: GatewayProcess,
                                                                   models: OpenAIUpstream, agent: str) -> None:
    hosted("writer")

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        client = await client_for(agent_gateway, agent)
        events = await collect(client.send_message(ask("tell me more")))
        stored = MessageToDict(await client.get_task(GetTaskRequest(id=events[0]["task"]["id"])))
        return events, stored

    events, stored = asyncio.run(scenario())
    words = f"{MOCK} tell me more".split()
    assert kinds(events) == ["task", "statusUpdate", *["artifactUpdate"] * (len(words) + 1), "statusUpdate"]
    assert [events[1]["statusUpdate"]["status"]["state"], events[-1]["statusUpdate"]["status"]["state"]] == [
        "TASK_STATE_WORKING", "TASK_STATE_COMPLETED"]
    updates = [event["artifactUpdate"] for event in events if "artifactUpdate" in event]
    assert pieces(events) == [words[0], *[f" {word}" for word in words[1:]], ""]
    assert [(u.get("append", False), u.get("lastChunk", False)) for u in updates] == [
        (False, False), *[(True, False)] * (len(words) - 1), (True, True)]
    assert len({u["artifact"]["artifactId"] for u in updates}) == 1
    assert artifact_texts(stored) == [" ".join(words)]  # the stored task holds the answer as one text
    assert streamed_requests(models) == [True]


def test_a_0_3_stream_gets_artifact_update_chunks(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    hosted("writer")
    message = {"kind": "message", "messageId": "m1", "role": "user", "parts": [{"kind": "text", "text": "go on"}]}
    results = []
    with httpx.stream("POST", f"{agent_gateway.url}/a2a/writer", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                      json=rpc("message/stream", {"message": message}), timeout=30) as answer:
        for line in answer.iter_lines():
            if line.startswith("data: "):
                results.append(httpx.Response(200, content=line[6:]).json()["result"])
    assert [r["kind"] for r in results] == ["task", "status-update", *["artifact-update"] * 9, "status-update"]
    chunks = [r for r in results if r["kind"] == "artifact-update"]
    assert "".join(part["text"] for r in chunks for part in r["artifact"]["parts"]) == f"{MOCK} go on"
    assert all(part["kind"] == "text" for r in chunks for part in r["artifact"]["parts"])
    assert [r.get("append", False) for r in chunks] == [False, *[True] * 8]
    assert (chunks[-1]["lastChunk"], results[-1]["status"]["state"], results[-1]["final"]) == (True, "completed", True)


def test_cancel_during_a_stream_hangs_up_on_the_model(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    hosted("writer")
    models.reply_with(paced(0.5))

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        client = await client_for(agent_gateway, "writer")
        events: list[dict[str, Any]] = []
        async for event in client.send_message(ask("a long story please")):
            events.append(MessageToDict(event))
            if "artifactUpdate" in events[-1]:
                break
        canceled = MessageToDict(await client.cancel_task(CancelTaskRequest(id=events[0]["task"]["id"])))
        return events, canceled

    events, canceled = asyncio.run(scenario())
    assert pieces(events) == ["This"]
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
    wait_until(lambda: models.hangups == 1)
    assert models.pieces_sent < 12  # the upstream stopped sending, it did not run to its end


def test_the_chat_bridge_streams_the_agents_tokens(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    hosted("writer")
    client = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{agent_gateway.url}/v1", max_retries=0, timeout=60)
    stream = client.chat.completions.create(model="a2a/writer", stream=True,
                                            messages=[{"role": "user", "content": "bridge me"}])
    deltas = [chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    words = f"{MOCK} bridge me".split()
    assert deltas == [words[0], *[f" {word}" for word in words[1:]]]
    assert streamed_requests(models) == [True]


def test_a_chat_client_hanging_up_cancels_the_agent_and_its_model_call(agent_gateway: GatewayProcess,
                                                                       models: OpenAIUpstream) -> None:
    hosted("writer")
    models.reply_with(paced(0.5))
    client = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{agent_gateway.url}/v1", max_retries=0, timeout=60)
    stream = client.chat.completions.create(model="a2a/writer", stream=True,
                                            messages=[{"role": "user", "content": "a long story please"}])
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    stream.close()
    wait_until(lambda: models.hangups == 1)
    [request] = models.requests
    assert isinstance(request, Recorded) and request.json()["stream"] is True


def test_a_streamed_hosted_answer_settles_its_model_call_against_the_key(agent_gateway: GatewayProcess,
                                                                         models: OpenAIUpstream) -> None:
    hosted("pricey", model="priced-gpt")
    key, secret = make_key(None, None, key_alias="streamer", max_budget=Decimal("1"))
    message = {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "word"}]}
    with httpx.stream("POST", f"{agent_gateway.url}/a2a/pricey", timeout=30, json=rpc("SendStreamingMessage",
                      {"message": message}), headers={"Authorization": f"Bearer {secret}", "A2A-Version": "1.0"}) as sse:
        events = [httpx.Response(200, content=line[6:]).json()["result"] for line in sse.iter_lines()
                  if line.startswith("data: ")]
    assert events[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"
    rows = wait_for_spend_rows(2, key_id=key.pk)
    [chat] = [row for row in rows if row.call_type == "chat"]
    # "You are helpful." and "word" (3 + 1 words, 3 tokens per message) in, the 7-word mock answer out
    assert (chat.model_alias, chat.status, chat.prompt_tokens, chat.completion_tokens, chat.cost) == (
        "priced-gpt", "success", 10, 7, PRICE_PER_TOKEN * 17)


def test_a_streamed_hosted_agent_still_calls_its_tools(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    hosted("planner", prompt="Plan with your tools.", tools=["research_agent"])

    async def scenario() -> list[dict[str, Any]]:
        client = await client_for(agent_gateway, "planner")
        return await collect(client.send_message(ask("what is A2A")))

    events = asyncio.run(scenario())
    assert events[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert "".join(pieces(events)) == f"{MOCK} what is A2A"
    assert streamed_requests(models) == [True, False, True]  # planner (asks its tool), research_agent, planner
    first, _, last = (request.json() for request in models.requests)
    [call] = [m for m in last["messages"] if m["role"] == "assistant"][0]["tool_calls"]
    assert (call["function"]["name"], call["id"], first["tools"][0]["function"]["name"]) == (
        "research_agent", [m for m in last["messages"] if m["role"] == "tool"][0]["tool_call_id"], "research_agent")
    assert [m["content"] for m in last["messages"] if m["role"] == "tool"] == [f"{MOCK} mock"]
