"""The /v1 call flow without HTTP: resolve the model group, check access, route to a deployment."""
from __future__ import annotations

from dataclasses import replace

from apps.providers import transport
from apps.providers.base import ChatCall, ChatCompletion, EmbeddingCall, EmbeddingResult, Target
from apps.providers.registry import adapter_for
from apps.providers.transport import ChatStream
from apps.routing.parsing import CallOptions
from apps.routing.router import Served, model_not_found, route
from apps.routing.snapshot import DeploymentRecord, RoutingTable, routing_table
from apps.teams.access import check_model_access
from apps.teams.auth import Principal


async def table_for(principal: Principal, model: str) -> RoutingTable:
    """The routing table, once the model exists and the caller may use it."""
    table = await routing_table.get()
    if not table.deployments(model):
        raise model_not_found(model)
    check_model_access(principal, model, table.access_groups)
    return table


def target_for(deployment: DeploymentRecord, options: CallOptions) -> Target:
    """The deployment's target, with a per-request timeout applied."""
    if options.timeout is None:
        return deployment.target
    return replace(deployment.target, timeout=options.timeout)


async def chat_completion(principal: Principal, call: ChatCall, options: CallOptions) -> Served[ChatCompletion]:
    """A complete chat answer from the first deployment that gives one."""
    table = await table_for(principal, call.model)

    async def attempt(deployment: DeploymentRecord) -> ChatCompletion:
        target = target_for(deployment, options)
        return await transport.send_chat(adapter_for(target.provider), call, target)

    return await route(table, call.model, options, attempt, call=call)


async def chat_stream(principal: Principal, call: ChatCall, options: CallOptions) -> Served[ChatStream]:
    """An open upstream stream; failures before the first byte fail over like any other call."""
    table = await table_for(principal, call.model)

    async def attempt(deployment: DeploymentRecord) -> ChatStream:
        target = target_for(deployment, options)
        return await transport.open_chat_stream(adapter_for(target.provider), call, target)

    return await route(table, call.model, options, attempt, call=call)


async def embedding(principal: Principal, call: EmbeddingCall, options: CallOptions) -> Served[EmbeddingResult]:
    """Embeddings from the first deployment that gives them."""
    table = await table_for(principal, call.model)

    async def attempt(deployment: DeploymentRecord) -> EmbeddingResult:
        target = target_for(deployment, options)
        return await transport.send_embedding(adapter_for(target.provider), call, target)

    return await route(table, call.model, options, attempt, call=call)
