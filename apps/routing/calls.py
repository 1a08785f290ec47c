"""The /v1 call flow without HTTP: resolve the model group, check access, admit (budgets, limits), route, settle."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import TypeVar

from apps.core.errors import ModelNotFound
from apps.providers import transport
from apps.providers.base import ChatCall, ChatCompletion, EmbeddingCall, EmbeddingResult, Target, UpstreamError, Usage
from apps.providers.completions import CompletionCall
from apps.providers.moderations import ModerationCall
from apps.providers.registry import adapter_for
from apps.providers.rerank import RerankCall
from apps.providers.transport import ChatStream
from apps.routing.admission import admit_chat, admit_embedding
from apps.routing.bridges import bridge_for
from apps.routing.client_endpoint import client_target
from apps.routing.parsing import CallOptions
from apps.routing.prices import deployment_price
from apps.routing.router import Attempt, Avoid, Served, model_not_found, route
from apps.routing.snapshot import DeploymentRecord, RoutingTable, routing_table
from apps.routing.stream_resume import ResumingStream, continuation_call, open_primed
from apps.teams.access import check_model_access
from apps.teams.auth import Principal
from apps.teams.metering import Meter
from apps.teams.stream_meter import MeteredStream

T = TypeVar("T")


C = TypeVar("C", ChatCall, EmbeddingCall, CompletionCall, RerankCall, ModerationCall)


def aliased(principal: Principal, call: C) -> C:
    """The call with the key's model alias applied (LiteLLM's key `aliases`: {"gpt-4": "gpt-4o"})."""
    aliases = principal.key.aliases if principal.key is not None else None
    target = aliases.get(call.model) if aliases else None
    return call if target is None else replace(call, model=target)


async def table_for(principal: Principal, call: C) -> tuple[RoutingTable, C]:
    """The routing table and the call as routed (aliases applied), once the model exists and the caller may use
    it."""
    routed = aliased(principal, call)
    table = await routing_table.get()
    if not table.deployments(routed.model):
        raise model_not_found(routed.model)
    check_model_access(principal, routed.model, table.access_groups,
                       requested=call.model if routed is not call else "")
    return table, routed


def target_for(deployment: DeploymentRecord, options: CallOptions) -> Target:
    """The deployment's target, with a per-request timeout, the call's own upstream headers (an agent's trace and
    agent ids) and a checked client endpoint applied."""
    target = deployment.target if options.timeout is None else replace(deployment.target, timeout=options.timeout)
    if options.headers:
        target = replace(target, headers={**target.headers, **dict(options.headers)})
    return target if options.api_base is None else client_target(target, options)


async def metered(meter: Meter, table: RoutingTable, call: ChatCall | EmbeddingCall, options: CallOptions,
                  attempt: Attempt[T]) -> Served[T]:
    """Route with the meter observing failed attempts; a call that fails (or is cancelled) frees its reservation."""
    try:
        return await route(table, call.model, options, attempt, meter, call=call)
    except BaseException:
        meter.finish_soon(None, Usage(), price=None)
        raise


async def chat_completion(principal: Principal, call: ChatCall, options: CallOptions, *,
                          request_id: str = "") -> Served[ChatCompletion]:
    """A complete chat answer from the first deployment that gives one."""
    try:
        table, call = await table_for(principal, call)
    except ModelNotFound:
        if (bridge := bridge_for(call.model)) is None:
            raise
        return await bridge.complete(principal, call, options, request_id=request_id)
    meter = await admit_chat(principal, table, call, options, request_id=request_id)

    async def attempt(deployment: DeploymentRecord) -> ChatCompletion:
        target = target_for(deployment, options)
        return await transport.send_chat(adapter_for(target.provider), call, target)

    served = await metered(meter, table, call, options, attempt)
    meter.finish_soon(served.deployment, served.value.usage,  # settle + log after the answer is on its way
                      price=deployment_price(served.deployment))
    return served


async def chat_stream(principal: Principal, call: ChatCall, options: CallOptions, *,
                      request_id: str = "") -> Served[ChatStream]:
    """An open upstream stream; failures before its first token fail over like any other call, and with
    `stream_resume` a stream cut later continues on another deployment or fallback."""
    try:
        table, call = await table_for(principal, call)
    except ModelNotFound:
        if (bridge := bridge_for(call.model)) is None:
            raise
        return await bridge.stream(principal, call, options, request_id=request_id)
    meter = await admit_chat(principal, table, call, options, request_id=request_id)

    async def attempt(deployment: DeploymentRecord) -> ChatStream:
        target = target_for(deployment, options)
        return await open_primed(adapter_for(target.provider), call, target)

    served = await metered(meter, table, call, options, attempt)
    return replace(served, value=resuming(served.value, served.deployment, table=table, call=call, options=options,
                                          meter=meter))


# (a deployment, the text a cut stream gave so far) -> that deployment's stream of the rest, opened and primed
Reopen = Callable[[DeploymentRecord, str], Awaitable[ChatStream]]


def resuming(stream: ChatStream, deployment: DeploymentRecord, *, table: RoutingTable, call: ChatCall,
             options: CallOptions, meter: Meter, reopen: Reopen | None = None) -> ChatStream:
    """The stream `deployment` serves, metered; with `stream_resume` on, one that, cut after its first token,
    continues on another deployment or fallback (`resume_stream`; `reopen` opens the rest, by default as the chat
    `call` continued) in the same client stream."""
    resumes = stream_resumes(table, options)
    metered_stream = MeteredStream(stream, meter=meter, deployment=deployment, price=deployment_price(deployment),
                                   resumable=resumes > 0)
    if not resumes:
        return metered_stream
    reopen = reopen or partial(chat_continuation, call=call, options=options)
    resume = partial(resume_stream, table=table, call=call, options=options, meter=meter, reopen=reopen)
    return ResumingStream(metered_stream, meter=meter, limit=resumes, resume=resume)


def stream_resumes(table: RoutingTable, options: CallOptions) -> int:
    """How many times a cut stream may resume: none unless `stream_resume` is on (per request, else the router's
    setting); then once per retry of the call's budget, at least once."""
    on = options.stream_resume if options.stream_resume is not None else table.policy.stream_resume
    if not on:
        return 0
    return max(1, options.num_retries if options.num_retries is not None else table.policy.num_retries)


async def chat_continuation(deployment: DeploymentRecord, text: str, *, call: ChatCall,
                            options: CallOptions) -> ChatStream:
    """`deployment`'s stream of the rest of a chat answer that began with `text`."""
    target = target_for(deployment, options)
    adapter = adapter_for(target.provider)
    return await open_primed(adapter, continuation_call(call, text, prefill=adapter.supports("assistant_prefill")),
                             target)


async def resume_stream(text: str, error: UpstreamError, failed: frozenset[str], *, table: RoutingTable,
                        call: ChatCall, options: CallOptions, meter: Meter, reopen: Reopen) -> MeteredStream:
    """The rest of a cut answer that began with `text`, from a deployment of the group other than `failed` ones,
    else from its fallbacks; each is tried once."""
    async def attempt(deployment: DeploymentRecord) -> ChatStream:
        return await reopen(deployment, text)

    served = await route(table, call.model, replace(options, num_retries=0), attempt, meter,
                         call=continuation_call(call, text, prefill=False), avoid=Avoid(failed, error))
    return MeteredStream(served.value, meter=meter, deployment=served.deployment,
                         price=deployment_price(served.deployment), resumable=True)


async def embedding(principal: Principal, call: EmbeddingCall, options: CallOptions, *,
                    request_id: str = "") -> Served[EmbeddingResult]:
    """Embeddings from the first deployment that gives them."""
    table, call = await table_for(principal, call)
    meter = await admit_embedding(principal, table, call, options, request_id=request_id)

    async def attempt(deployment: DeploymentRecord) -> EmbeddingResult:
        target = target_for(deployment, options)
        return await transport.send_embedding(adapter_for(target.provider), call, target)

    served = await metered(meter, table, call, options, attempt)
    meter.finish_soon(served.deployment, served.value.usage,  # settle + log after the answer is on its way
                      price=deployment_price(served.deployment))
    return served
