"""The /v1/responses call flow: the chat path's access, admission, routing and metering, with the Responses API in.

Each attempt either sends the body to a deployment whose provider has the Responses API (OpenAI, Azure), renaming
the ids in its answer to the gateway's, or sends the chat call the body stands for and builds the Response from
the answer. Either way the call is admitted and routed as that chat call, and logged as `aresponses`. A stored
response (`store` not false) is written before the answer leaves, so the next turn finds it on any replica.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from apps.core import jsonutil
from apps.providers import transport
from apps.providers.adapters.responses_api import responses_endpoint
from apps.providers.base import ChatCompletion, Usage
from apps.providers.registry import adapter_for
from apps.providers.responses import ids
from apps.providers.responses.output import chat_response, response_object, usage_from_responses
from apps.providers.responses.passthrough import PassedStream, Renamer
from apps.providers.responses.stream import new_state
from apps.routing import responses_background as background
from apps.routing import responses_store as store
from apps.routing.admission import admit_chat
from apps.routing.calls import metered, resuming, table_for, target_for
from apps.routing.prices import deployment_price
from apps.routing.responses_parsing import ResponsesRequest
from apps.routing.responses_stream import PassthroughResponses, ResponsesStream, TranslatedResponses
from apps.routing.responses_turn import CALL_TYPE, Turn, gateway_id, saved, turn_for
from apps.routing.router import Served
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.routing.stream_resume import open_primed
from apps.teams.auth import Principal
from apps.teams.metering import Meter


@dataclass(frozen=True, slots=True)
class Answer:
    """One attempt's answer: a provider's Response object (passed through) or a chat completion (bridged)."""

    usage: Usage
    upstream: dict[str, Any] | None = None
    completion: ChatCompletion | None = None


async def admitted(principal: Principal, request: ResponsesRequest,
                   request_id: str) -> tuple[RoutingTable, Meter, Turn]:
    """The routing table, the call's reservation (admitted as its chat call) and the turn as routed."""
    turn = await turn_for(principal, request)
    table, call = await table_for(principal, turn.bridged.call)
    turn = turn.routed_as(call.model)
    meter = await admit_chat(principal, table, call, request.options, request_id=request_id, call_type=CALL_TYPE,
                             body=request.body)
    return table, meter, turn


def answer_body(turn: Turn, served: Served[Answer]) -> tuple[str, str, dict[str, Any]]:
    """(gateway id, provider id when passed through, the Response object the client gets)."""
    deployment, answer = served.deployment, served.value
    previous = turn.request.previous_response_id or None
    if answer.upstream is not None:
        upstream_id = str(answer.upstream.get("id") or "")
        renamer = Renamer(encode=lambda value: gateway_id(deployment, value), previous_response_id=previous)
        return gateway_id(deployment, upstream_id), upstream_id, renamer(answer.upstream)
    assert answer.completion is not None
    response_id = gateway_id(deployment, ids.new_upstream_id())
    body = chat_response(answer.completion.body, answer.usage, turn.request.body, response_id=response_id,
                         model=deployment.target.model, previous_response_id=previous)
    return response_id, "", body


def answer_attempt(turn: Turn, options: Any) -> Callable[[DeploymentRecord], Awaitable[Answer]]:
    """One attempt of a whole (not streamed) Response: the body passed through, or the chat call it stands for."""
    async def attempt(deployment: DeploymentRecord) -> Answer:
        target = target_for(deployment, options)
        adapter = adapter_for(target.provider)
        endpoint = responses_endpoint(adapter)
        if endpoint is not None:
            _, raw = await transport.send(adapter, endpoint.create(turn.upstream_body(deployment), target), target)
            data = jsonutil.loads(raw)
            return Answer(usage=usage_from_responses(data.get("usage")), upstream=data)
        turn.check_bridgeable(deployment)
        completion = await transport.send_chat(adapter, turn.bridged.call, target)
        return Answer(usage=completion.usage, completion=completion)
    return attempt


def passed_through(table: RoutingTable, model: str) -> bool:
    """Whether every deployment of the group has the Responses API (so the provider runs a background call)."""
    deployments = table.deployments(model)
    return bool(deployments) and all(responses_endpoint(adapter_for(d.target.provider)) for d in deployments)


async def responses_create(principal: Principal, request: ResponsesRequest, *,
                           request_id: str = "") -> Served[dict[str, Any]]:
    """A whole Response from the first deployment that gives one, stored before it is returned; a background one
    as the provider queued it (held and polled until it ends), or, over chat, queued and run as a task."""
    table, meter, turn = await admitted(principal, request, request_id)
    if request.background and not passed_through(table, turn.bridged.call.model):
        return await over_chat_in_background(principal, table, meter, turn)
    served = await metered(meter, table, turn.bridged.call, request.options, answer_attempt(turn, request.options))
    response_id, upstream_id, body = answer_body(turn, served)
    record = turn.record(principal, response_id=response_id, deployment=served.deployment,
                         group=served.model_group or turn.bridged.call.model, upstream_id=upstream_id, body=body)
    if request.background and background.still_running(body):
        await store.save(record)  # a GET of the id must find it: a failed write fails the call (never billed)
        background.watch_passthrough(record, meter, served.deployment)
    else:
        meter.finish_soon(served.deployment, served.value.usage, price=deployment_price(served.deployment))
        if request.store:
            await saved(record)
    return Served(body, served.deployment, served.attempts, fallback_depth=served.fallback_depth,
                  model_group=served.model_group)


async def over_chat_in_background(principal: Principal, table: RoutingTable, meter: Meter,
                                  turn: Turn) -> Served[dict[str, Any]]:
    """A background call served over chat: stored `queued` and answered so; the chat call runs as a task whose
    Response (same id) replaces the stored one."""
    request, group = turn.request, turn.bridged.call.model
    first = table.deployments(group)[0]
    response_id = gateway_id(first, ids.new_upstream_id())
    previous = request.previous_response_id or None
    queued = {**response_object(request.body, response_id=response_id, model=first.target.model, output=[],
                                status="queued", previous_response_id=previous), "background": True}
    record = turn.record(principal, response_id=response_id, deployment=first, group=group, upstream_id="",
                         body=queued)
    await store.save(record)
    sync = replace(turn, request=replace(request, body={k: v for k, v in request.body.items() if k != "background"}))

    async def work() -> dict[str, Any]:
        served = await metered(meter, table, sync.bridged.call, request.options, answer_attempt(sync, request.options))
        meter.finish_soon(served.deployment, served.value.usage, price=deployment_price(served.deployment))
        return {**answer_body(sync, served)[2], "id": response_id, "background": True}

    background.run_over_chat(record, meter, work)
    return Served(queued, first, 0, model_group=group)


async def responses_stream(principal: Principal, request: ResponsesRequest, *,
                           request_id: str = "") -> Served[ResponsesStream]:
    """An open stream of Responses events; failures before its first token fail over like any other call, and with
    `stream_resume` a stream translated over chat cut later continues on another deployment or fallback."""
    table, meter, turn = await admitted(principal, request, request_id)

    async def attempt(deployment: DeploymentRecord) -> PassthroughResponses | transport.ChatStream:
        target = target_for(deployment, request.options)
        adapter = adapter_for(target.provider)
        endpoint = responses_endpoint(adapter)
        if endpoint is None:
            turn.check_bridgeable(deployment)
            return await open_primed(adapter, turn.bridged.call, target)
        response = await transport.open_stream(adapter, endpoint.create(turn.upstream_body(deployment), target),
                                               target)
        renamer = Renamer(encode=lambda value: gateway_id(deployment, value),
                          previous_response_id=request.previous_response_id or None)
        return await PassthroughResponses(response, PassedStream(rename=renamer, provider=target.provider),
                                          target=target).primed()

    served = await metered(meter, table, turn.bridged.call, request.options, attempt)
    deployment, price = served.deployment, deployment_price(served.deployment)
    group = served.model_group or turn.bridged.call.model
    stream: ResponsesStream
    if isinstance(served.value, PassthroughResponses):
        stream = served.value.finished_by(meter=meter, deployment=deployment, price=price,
                                          store=stored_as(principal, turn, deployment, group, passed=True))
    else:
        chat = resuming(served.value, deployment, table=table, call=turn.bridged.call, options=request.options,
                        meter=meter)
        response_id = gateway_id(deployment, ids.new_upstream_id())
        state = new_state(request.body, response_id=response_id, model=deployment.target.model,
                          previous_response_id=request.previous_response_id or None)
        stream = TranslatedResponses(chat, state, store=stored_as(principal, turn, deployment, group, passed=False))
    return Served(stream, deployment, served.attempts, fallback_depth=served.fallback_depth,
                  model_group=served.model_group)


def stored_as(principal: Principal, turn: Turn, deployment: DeploymentRecord, group: str, *, passed: bool) -> Any:
    """What a stream calls with its final Response (and the provider's id) to store it; None when not stored."""
    if not turn.request.store:
        return None

    async def store(body: dict[str, Any], upstream_id: str) -> None:
        await saved(turn.record(principal, response_id=str(body["id"]), deployment=deployment, group=group,
                                upstream_id=upstream_id if passed else "", body=body))
    return store
