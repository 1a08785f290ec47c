"""Stored responses read, listed, deleted and cancelled: only by the key (or team) that made them.

A response passed through to a provider with the Responses API lives there too: deleting or cancelling it is
forwarded to the deployment that made it. Reading is answered from the database: a stored response is a finished
one (background responses, which change after their call, are not served), so it is what the provider holds.
"""
from __future__ import annotations

from typing import Any

from apps.core import jsonutil
from apps.core.errors import InvalidRequest, NotFound
from apps.providers import transport
from apps.providers.adapters.responses_api import responses_endpoint
from apps.providers.base import UpstreamError, UpstreamRequest
from apps.providers.registry import adapter_for
from apps.providers.responses.passthrough import Renamer
from apps.routing import responses_store as store
from apps.routing.responses_store import ResponseRecord
from apps.routing.responses_turn import gateway_id
from apps.routing.snapshot import DeploymentRecord, routing_table
from apps.teams.auth import Principal

class ResponseNotFound(NotFound):
    code = "response_not_found"


async def owned(principal: Principal, response_id: str) -> ResponseRecord:
    """The stored response, or a 404 when there is none the caller may see."""
    record = await store.find(response_id, principal)
    if record is None:
        raise ResponseNotFound(f"Response with id '{response_id}' not found.", param="response_id")
    return record


async def deployment_of(record: ResponseRecord) -> DeploymentRecord:
    """The deployment that made a passed-through response (it alone holds it upstream)."""
    table = await routing_table.get()
    found = next((d for d in table.deployments(record.model_group) if d.public_id == record.deployment_id), None)
    if found is None:
        raise ResponseNotFound(f"Response with id '{record.response_id}' was made by deployment "
                               f"'{record.deployment_id}', which is no longer configured.", param="response_id")
    return found


async def forwarded(record: ResponseRecord, *, method: str, suffix: str = "") -> dict[str, Any]:
    """The provider's answer about a passed-through response, with the gateway's ids."""
    deployment = await deployment_of(record)
    target = deployment.target
    adapter = adapter_for(target.provider)
    endpoint = responses_endpoint(adapter)
    assert endpoint is not None, "only passed-through responses are forwarded"
    request: UpstreamRequest = endpoint.about(target, record.upstream_id, method=method, suffix=suffix)
    _, raw = await transport.send(adapter, request, target)
    data = jsonutil.loads(raw) if raw else {}
    if data.get("object") != "response":
        return dict(data)
    renamer = Renamer(encode=lambda value: gateway_id(deployment, value),
                      previous_response_id=record.previous_response_id or None)
    return renamer(data)


async def response_retrieve(principal: Principal, response_id: str) -> dict[str, Any]:
    """`GET /v1/responses/{id}`."""
    return (await owned(principal, response_id)).body


async def response_delete(principal: Principal, response_id: str) -> dict[str, Any]:
    """`DELETE /v1/responses/{id}`: gone from the provider (when it holds it) and from the gateway."""
    record = await owned(principal, response_id)
    if record.passed_through:
        try:
            await forwarded(record, method="DELETE")
        except UpstreamError as error:
            if error.upstream_status != 404:  # already gone upstream: the gateway's copy still goes
                raise
    await store.delete(response_id)
    return {"id": response_id, "object": "response", "deleted": True}


async def response_cancel(principal: Principal, response_id: str) -> dict[str, Any]:
    """`POST /v1/responses/{id}/cancel`: only a background response still running upstream can be cancelled."""
    record = await owned(principal, response_id)
    if not record.passed_through:
        raise InvalidRequest("Only responses created with background=true can be cancelled; this one was answered "
                             "in its request.", param="response_id", code="invalid_request")
    body = await forwarded(record, method="POST", suffix="/cancel")
    await store.body_set(response_id, body)
    return body


async def response_input_items(principal: Principal, response_id: str, *, limit: int, order: str,
                               after: str) -> dict[str, Any]:
    """`GET /v1/responses/{id}/input_items`: the request's input items, a page at a time (newest first by default)."""
    record = await owned(principal, response_id)
    items = record.input_items if order == "asc" else list(reversed(record.input_items))
    if after:
        position = next((index for index, item in enumerate(items) if item.get("id") == after), None)
        if position is None:
            raise InvalidRequest(f"No input item with id '{after}' in response '{response_id}'.", param="after",
                                 code="invalid_value")
        items = items[position + 1:]
    page = items[:limit]
    return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit}
