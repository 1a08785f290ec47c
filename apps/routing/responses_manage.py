"""Stored responses read, listed, deleted and cancelled: only by the key (or team) that made them.

A response passed through to a provider with the Responses API lives there too: deleting or cancelling it is
forwarded to the deployment that made it. Reading is answered from the database, except for a passed-through
background response still running, whose GET asks the provider (`responses_background`).
"""
from __future__ import annotations

from typing import Any

from apps.core.errors import InvalidRequest
from apps.providers.base import UpstreamError
from apps.routing import responses_background as background
from apps.routing import responses_orphans as orphans
from apps.routing import responses_store as store
from apps.routing.responses_store import ResponseRecord
from apps.routing.responses_upstream import ResponseNotFound, forwarded
from apps.teams.auth import Principal


async def owned(principal: Principal, response_id: str) -> ResponseRecord:
    """The stored response (ended as failed first if its process died while it ran), or a 404 when there is none
    the caller may see."""
    record = await store.find(response_id, principal)
    if record is None:
        raise ResponseNotFound(f"Response with id '{response_id}' not found.", param="response_id")
    return await orphans.checked(record)


async def response_retrieve(principal: Principal, response_id: str) -> dict[str, Any]:
    """`GET /v1/responses/{id}`: a running background response as it is now (`responses_background.refreshed`)."""
    record = await owned(principal, response_id)
    return await background.refreshed(record) if background.running(record) else record.body


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
    """`POST /v1/responses/{id}/cancel`: only a background response can be cancelled (by the provider that runs
    it, or here for one served over chat)."""
    record = await owned(principal, response_id)
    if record.passed_through:
        body = await forwarded(record, method="POST", suffix="/cancel")
        await background.ended(record, body)
        return body
    if not record.body.get("background"):
        raise InvalidRequest("Only responses created with background=true can be cancelled; this one was answered "
                             "in its request.", param="response_id", code="invalid_request")
    return await background.cancelled(record)


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
