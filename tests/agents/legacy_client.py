"""A deployed 0.3 client: this script runs under a2a-sdk 0.3.x (its own venv, see tests/agents/legacy_sdk.py; the 0.3
and 1.x SDKs are both the `a2a` package) against a live gateway, and prints what it saw as one JSON object.

argv: gateway_url key. It discovers each agent from the full card the gateway serves (nothing cut out of it), lets
the SDK pick its transport, and then sends, streams, gets, cancels, resubscribes, reads the extended card and
tries a wrong key. Every request it makes is recorded (method, path, A2A-Version header)."""
from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.errors import A2AClientHTTPError
from a2a.types import Message, Part, Role, TaskIdParams, TaskQueryParams, TextPart, TransportProtocol

URL, KEY = sys.argv[1], sys.argv[2]
sent: list[list[Any]] = []


async def record(request: httpx.Request) -> None:
    sent.append([request.method, request.url.path, request.headers.get("a2a-version")])


def http(key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30,
                             event_hooks={"request": [record]})


def ask(text: str) -> Message:
    return Message(role=Role.user, message_id=str(uuid.uuid4()), parts=[Part(root=TextPart(text=text))])


def texts(task: Any) -> list[str]:
    return [part.root.text for artifact in task.artifacts or [] for part in artifact.parts]


def client_for(card: Any, client: httpx.AsyncClient, *, streaming: bool) -> Any:
    # Both bindings offered: the SDK must pick from the card (its preferredTransport), not from what we cut out.
    config = ClientConfig(streaming=streaming, httpx_client=client,
                          supported_transports=[TransportProtocol.jsonrpc, TransportProtocol.http_json])
    return ClientFactory(config).create(card)


async def events_of(stream: Any) -> tuple[Any, list[list[Any]]]:
    task, seen = None, []
    async for event in stream:
        task, update = event
        seen.append([task.status.state.value, update.kind if update is not None else "task"])
    return task, seen


async def sends(out: dict[str, Any], client: httpx.AsyncClient) -> Any:
    card = await A2ACardResolver(client, f"{URL}/a2a/research_agent").get_agent_card()
    out["card"] = [card.url, card.protocol_version, card.preferred_transport,
                   [[i.transport, i.url] for i in card.additional_interfaces or []]]
    task, out["send"] = await events_of(client_for(card, client, streaming=False).send_message(ask("old send")))
    out["send_texts"] = texts(task)
    streamer = client_for(card, client, streaming=True)
    task, out["stream"] = await events_of(streamer.send_message(ask("old stream")))
    got = await streamer.get_task(TaskQueryParams(id=task.id, history_length=1))
    out["get"] = [got.id == task.id, got.status.state.value, texts(got),
                  [[p.root.text for p in m.parts] for m in got.history or []]]
    extended = await streamer.get_card()
    out["extended_card"] = [extended.name, extended.url]
    return card


async def main() -> None:
    out: dict[str, Any] = {}
    async with http(KEY) as client:
        card = await sends(out, client)
        await cancel_and_resubscribe(out, client)
    async with http("sk-wrong-key") as wrong:
        try:
            await events_of(client_for(card, wrong, streaming=False).send_message(ask("let me in")))
            out["wrong_key"] = "answered"
        except A2AClientHTTPError as error:
            out["wrong_key"] = error.status_code
    out["requests"] = sent
    print(json.dumps(out))


async def cancel_and_resubscribe(out: dict[str, Any], client: httpx.AsyncClient) -> None:
    """A task that works until canceled: leave its stream once it works, resubscribe, cancel, read the end."""
    card = await A2ACardResolver(client, f"{URL}/a2a/waiting_agent").get_agent_card()
    streamer = client_for(card, client, streaming=True)
    states = []
    async for task, _ in streamer.send_message(ask("take your time")):
        states.append(task.status.state.value)
        if task.status.state.value == "working":
            break
    subscribed = streamer.resubscribe(TaskIdParams(id=task.id))
    resumed = [(await anext(subscribed))[0].status.state.value]
    canceled = await streamer.cancel_task(TaskIdParams(id=task.id))
    async for later, _ in subscribed:
        resumed.append(later.status.state.value)
    out["cancel"] = [states, canceled.status.state.value, resumed]


asyncio.run(main())
