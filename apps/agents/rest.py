"""A2A 1.0's HTTP+JSON binding under `/a2a/{agent_id}`: the same operations as JSON-RPC, resources as paths."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from apps.agents import service
from apps.agents.a2a_api import base_url, raw_events, rest_errors
from apps.agents.errors import InvalidParams
from apps.agents.turns import CallContext
from apps.agents.wire import Json
from apps.core import jsonutil
from apps.core.http import read_body, request_id
from apps.core.responses import sse_response

INT_QUERY = ("historyLength", "pageSize")


def json_body(request: HttpRequest) -> Json:
    raw = read_body(request)
    try:
        body = jsonutil.loads(raw) if raw else {}
    except jsonutil.JSONDecodeError:
        raise InvalidParams("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidParams("The body must be a JSON object.")
    return body


def query(request: HttpRequest) -> Json:
    """Query parameters as the operation's fields (camelCase names, numbers as numbers, booleans as booleans)."""
    params: Json = {}
    for name in request.GET:
        value = str(request.GET.get(name, ""))
        if name == "A2A-Version":
            continue
        params[name] = int(value) if name in INT_QUERY and value.isdigit() else \
            {"true": True, "false": False}.get(value, value)
    return params


@rest_errors
async def message_send(request: HttpRequest, ctx: CallContext) -> Any:
    return await service.send(ctx, json_body(request))


@rest_errors
async def message_stream(request: HttpRequest, ctx: CallContext) -> HttpResponseBase:
    events = await service.stream(ctx, json_body(request))
    return sse_response(raw_events(events), headers={"x-request-id": request_id(request)})


@rest_errors
async def task_get(request: HttpRequest, ctx: CallContext, task_id: str) -> Any:
    return await service.get(ctx, {**query(request), "id": task_id})


@rest_errors
async def task_list(request: HttpRequest, ctx: CallContext) -> Any:
    return await service.list_tasks(ctx, query(request))


@rest_errors
async def task_cancel(request: HttpRequest, ctx: CallContext, task_id: str) -> Any:
    return await service.cancel(ctx, {"id": task_id})


@rest_errors
async def task_subscribe(request: HttpRequest, ctx: CallContext, task_id: str) -> HttpResponseBase:
    events = await service.subscribe(ctx, {"id": task_id})
    return sse_response(raw_events(events), headers={"x-request-id": request_id(request)})


@rest_errors
async def push_configs(request: HttpRequest, ctx: CallContext, task_id: str) -> Any:
    if request.method == "POST":
        return await service.push_create(ctx, {**json_body(request), "taskId": task_id})
    return {"configs": await service.push_configs(ctx, task_id), "nextPageToken": ""}


@rest_errors
async def push_config(request: HttpRequest, ctx: CallContext, task_id: str, config_id: str) -> Any:
    if request.method == "DELETE":
        await service.push_delete(ctx, task_id, config_id)
        return {}
    return await service.push_get(ctx, task_id, config_id)


@rest_errors
async def extended_card(request: HttpRequest, ctx: CallContext) -> Any:
    return service.extended_card(ctx, base_url=base_url(request), version="1.0")


# (path under /a2a/{agent_id}, methods, view)
REST_ROUTES = [
    ("/message:send", ["POST"], message_send),
    ("/message:stream", ["POST"], message_stream),
    ("/tasks", ["GET"], task_list),
    ("/tasks/{task_id}:cancel", ["POST"], task_cancel),
    ("/tasks/{task_id}:subscribe", ["POST", "GET"], task_subscribe),
    ("/tasks/{task_id}/pushNotificationConfigs", ["POST", "GET"], push_configs),
    ("/tasks/{task_id}/pushNotificationConfigs/{config_id}", ["GET", "DELETE"], push_config),
    ("/tasks/{task_id}", ["GET"], task_get),
    ("/extendedAgentCard", ["GET"], extended_card),
]
