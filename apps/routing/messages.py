"""The /v1/messages call flow: the chat path's access, admission, routing and metering, with Anthropic's API in.

Each attempt either passes the client's body through to a deployment whose adapter speaks the Messages API
itself (its `messages_request` hook: Anthropic), or sends the translated chat call and translates the answer
back. Either way the call is admitted and routed as the chat call it stands for, and logged as
`anthropic_messages` (LiteLLM's call type).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from apps.core import jsonutil
from apps.providers import transport
from apps.providers.anthropic_messages.response import message_body
from apps.providers.base import ProviderAdapter, Target, UpstreamError, UpstreamRequest, Usage
from apps.providers.registry import adapter_for
from apps.providers.tokens import chat_tokens
from apps.routing.admission import admit_chat
from apps.routing.calls import metered, resuming, table_for, target_for
from apps.routing.messages_parsing import MessagesRequest
from apps.routing.messages_stream import MessagesStream, PassthroughStream, TranslatedStream
from apps.routing.prices import deployment_price
from apps.routing.router import Served
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.routing.stream_resume import open_primed
from apps.teams.auth import Principal
from apps.teams.metering import Meter

CALL_TYPE = "anthropic_messages"


@dataclass(frozen=True, slots=True)
class MessagesAnswer:
    """A whole Messages answer as the client gets it (JSON bytes) and its usage."""

    body: bytes
    usage: Usage


def passthrough_request(adapter: ProviderAdapter, request: MessagesRequest, target: Target,
                        headers: Mapping[str, str]) -> UpstreamRequest | None:
    """The untouched request for an adapter that speaks the Messages API itself, else None."""
    hook = getattr(adapter, "messages_request", None)
    return None if hook is None else hook(request.body, target, headers)


async def routed(principal: Principal, request: MessagesRequest) -> tuple[RoutingTable, MessagesRequest]:
    """The routing table once the caller may use the model, and the request as routed (the key's aliases applied)."""
    table, call = await table_for(principal, request.call)
    return table, request if call is request.call else replace(request, call=call)


async def admitted(principal: Principal, request: MessagesRequest,
                   request_id: str) -> tuple[RoutingTable, Meter, MessagesRequest]:
    """The routing table, the call's reservation (admitted as chat) and the request as routed."""
    table, request = await routed(principal, request)
    meter = await admit_chat(principal, table, request.call, request.options, request_id=request_id,
                             call_type=CALL_TYPE, body=request.body)
    return table, meter, request


async def messages_create(principal: Principal, request: MessagesRequest, *, headers: Mapping[str, str],
                          request_id: str = "") -> Served[MessagesAnswer]:
    """A whole Messages answer from the first deployment that gives one."""
    table, meter, request = await admitted(principal, request, request_id)

    async def attempt(deployment: DeploymentRecord) -> MessagesAnswer:
        target = target_for(deployment, request.options)
        adapter = adapter_for(target.provider)
        upstream = passthrough_request(adapter, request, target, headers)
        if upstream is not None:
            _, body = await transport.send(adapter, upstream, target)
            return MessagesAnswer(body, adapter.messages_usage(body))  # type: ignore[attr-defined]
        completion = await transport.send_chat(adapter, request.call, target)
        answer = message_body(completion.body, completion.usage, model=target.model)
        return MessagesAnswer(jsonutil.dumps(answer), completion.usage)

    served = await metered(meter, table, request.call, request.options, attempt)
    meter.finish_soon(served.deployment, served.value.usage, price=deployment_price(served.deployment))
    return served


async def messages_stream(principal: Principal, request: MessagesRequest, *, headers: Mapping[str, str],
                          request_id: str = "") -> Served[MessagesStream]:
    """An open stream of Anthropic events; failures before its first token fail over like any other call, and with
    `stream_resume` a translated stream cut later continues on another deployment or fallback."""
    table, meter, request = await admitted(principal, request, request_id)

    async def attempt(deployment: DeploymentRecord) -> PassthroughStream | transport.ChatStream:
        target = target_for(deployment, request.options)
        adapter = adapter_for(target.provider)
        upstream = passthrough_request(adapter, request, target, headers)
        if upstream is None:
            return await open_primed(adapter, request.call, target)
        response = await transport.open_stream(adapter, upstream, target)
        return await PassthroughStream(response, adapter.messages_stream_usage(),  # type: ignore[attr-defined]
                                       target=target).primed()

    served = await metered(meter, table, request.call, request.options, attempt)
    stream: MessagesStream
    if isinstance(served.value, PassthroughStream):
        stream = served.value.bill(meter, served.deployment, deployment_price(served.deployment))
    else:
        chat = resuming(served.value, served.deployment, table=table, call=request.call, options=request.options,
                        meter=meter)
        stream = TranslatedStream(chat, model=served.deployment.target.model,
                                  input_tokens=chat_tokens(request.call.messages, request.call.params.get("tools")))
    return Served(stream, served.deployment, served.attempts, fallback_depth=served.fallback_depth,
                  model_group=served.model_group)


async def messages_count(principal: Principal, request: MessagesRequest, *, headers: Mapping[str, str]) -> int:
    """The prompt's input tokens: counted by the group's first deployment when its provider counts them (Anthropic),
    else (or when that count fails) the gateway's own estimate. Not billed, as LiteLLM bills none."""
    table, request = await routed(principal, request)
    deployment = table.deployments(request.call.model)[0]
    adapter = adapter_for(deployment.target.provider) if deployment.supported else None
    hook = getattr(adapter, "messages_count_request", None)
    if adapter is not None and hook is not None:
        target = target_for(deployment, request.options)
        try:
            _, body = await transport.send(adapter, hook(request.body, target, headers), target)
            counted = adapter.messages_counted(body)  # type: ignore[attr-defined]
        except UpstreamError:
            counted = None
        if counted is not None:
            return int(counted)
    return chat_tokens(request.call.messages, request.call.params.get("tools"))
