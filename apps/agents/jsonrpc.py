"""A2A's JSON-RPC binding, both versions: the envelope checked (-32700, -32600), the method looked up in the
requested version's table (-32601), params converted up to 1.0 and results down to the caller's version."""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apps.agents import service
from apps.agents.errors import A2AError, InvalidParams, InvalidRequest, MethodNotFound, ParseError
from apps.agents.turns import CallContext
from apps.agents.wire import (Json, Version, event_down, message_up, push_config_down, push_config_up,
                              task_down)
from apps.core import jsonutil

Unary = Callable[[CallContext, Any], Awaitable[Any]]
Streaming = Callable[[CallContext, Any], Awaitable[AsyncIterator[Json]]]


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str | int | None
    method: str
    params: Any


def parse_envelope(raw: bytes) -> Envelope:
    """The JSON-RPC request, or the error for what is wrong with it (its id kept when it has a usable one)."""
    try:
        body = jsonutil.loads(raw)
    except jsonutil.JSONDecodeError:
        raise ParseError("Invalid JSON payload") from None
    if not isinstance(body, dict):
        raise InvalidRequest("Request payload validation error: a JSON-RPC request must be an object.")
    request_id = body.get("id")
    if not (request_id is None or isinstance(request_id, str) or
            (isinstance(request_id, int) and not isinstance(request_id, bool))):
        raise InvalidRequest("Request payload validation error: 'id' must be a string, a number or null.")
    if body.get("jsonrpc") != "2.0":
        raise EnvelopeError(request_id, InvalidRequest("Request payload validation error: 'jsonrpc' must be \"2.0\"."))
    if not isinstance(body.get("method"), str) or not body["method"]:
        raise EnvelopeError(request_id, InvalidRequest("Request payload validation error: 'method' must be a string."))
    params = body.get("params", {})
    if params is not None and not isinstance(params, dict):
        raise EnvelopeError(request_id, InvalidParams("Invalid parameters: 'params' must be an object."))
    return Envelope(id=request_id, method=body["method"], params=params or {})


class EnvelopeError(Exception):
    """A request that parsed far enough to have an id, and its error."""

    def __init__(self, request_id: str | int | None, error: A2AError) -> None:
        super().__init__(error.message)
        self.request_id, self.error = request_id, error


# 0.3: params up, result down.
async def legacy_send(ctx: CallContext, params: Any) -> Any:
    result = await service.send(ctx, legacy_send_params(params))
    return task_down(result["task"])


async def legacy_stream(ctx: CallContext, params: Any) -> AsyncIterator[Json]:
    return downgraded(await service.stream(ctx, legacy_send_params(params)))


async def legacy_subscribe(ctx: CallContext, params: Any) -> AsyncIterator[Json]:
    return downgraded(await service.subscribe(ctx, params))


async def downgraded(events: AsyncIterator[Json]) -> AsyncIterator[Json]:
    async for event in events:
        yield event_down(event)


def legacy_send_params(params: Any) -> Json:
    params = service.require_object(params)
    message = service.require_object(params.get("message"), "message")
    config = service.require_object(params.get("configuration") or {}, "configuration")
    up: Json = {"historyLength": config.get("historyLength")} if config.get("historyLength") is not None else {}
    if config.get("acceptedOutputModes") is not None:
        up["acceptedOutputModes"] = config["acceptedOutputModes"]
    if config.get("blocking") is False:
        up["returnImmediately"] = True
    if config.get("pushNotificationConfig"):
        up["taskPushNotificationConfig"] = {
            **push_config_up({"pushNotificationConfig": config["pushNotificationConfig"]}), "version": "0.3"}
    return {**params, "message": message_up(message), "configuration": up}


async def legacy_get(ctx: CallContext, params: Any) -> Any:
    return task_down(await service.get(ctx, params))


async def legacy_cancel(ctx: CallContext, params: Any) -> Any:
    return task_down(await service.cancel(ctx, params))


async def legacy_push_set(ctx: CallContext, params: Any) -> Any:
    created = await service.push_create(ctx, push_config_up(service.require_object(params)), version="0.3")
    return push_config_down(created)


async def legacy_push_get(ctx: CallContext, params: Any) -> Any:
    params = service.require_object(params)
    config_id = params.get("pushNotificationConfigId")
    found = await service.push_get(ctx, service.require_string(params, "id"), config_id if config_id else None)
    return push_config_down(found)


async def legacy_push_list(ctx: CallContext, params: Any) -> Any:
    params = service.require_object(params)
    return [push_config_down(c) for c in await service.push_configs(ctx, service.require_string(params, "id"))]


async def legacy_push_delete(ctx: CallContext, params: Any) -> Any:
    params = service.require_object(params)
    await service.push_delete(ctx, service.require_string(params, "id"),
                              service.require_string(params, "pushNotificationConfigId"))
    return None


# 1.0
async def push_get(ctx: CallContext, params: Any) -> Any:
    params = service.require_object(params)
    return await service.push_get(ctx, service.require_string(params, "taskId"), service.require_string(params, "id"))


async def push_list(ctx: CallContext, params: Any) -> Any:
    params = service.require_object(params)
    return {"configs": await service.push_configs(ctx, service.require_string(params, "taskId")),
            "nextPageToken": ""}


async def push_delete(ctx: CallContext, params: Any) -> Any:
    params = service.require_object(params)
    await service.push_delete(ctx, service.require_string(params, "taskId"), service.require_string(params, "id"))
    return {}


UNARY: dict[Version, dict[str, Unary]] = {
    "0.3": {"message/send": legacy_send, "tasks/get": legacy_get, "tasks/cancel": legacy_cancel,
            "tasks/pushNotificationConfig/set": legacy_push_set, "tasks/pushNotificationConfig/get": legacy_push_get,
            "tasks/pushNotificationConfig/list": legacy_push_list,
            "tasks/pushNotificationConfig/delete": legacy_push_delete},
    "1.0": {"SendMessage": service.send, "GetTask": service.get, "ListTasks": service.list_tasks,
            "CancelTask": service.cancel, "CreateTaskPushNotificationConfig": service.push_create,
            "GetTaskPushNotificationConfig": push_get, "ListTaskPushNotificationConfigs": push_list,
            "DeleteTaskPushNotificationConfig": push_delete},
}
STREAMING: dict[Version, dict[str, Streaming]] = {
    "0.3": {"message/stream": legacy_stream, "tasks/resubscribe": legacy_subscribe},
    "1.0": {"SendStreamingMessage": service.stream, "SubscribeToTask": service.subscribe},
}
CARD_METHODS: dict[Version, str] = {"0.3": "agent/getAuthenticatedExtendedCard", "1.0": "GetExtendedAgentCard"}


def method_of(envelope: Envelope, version: Version) -> Unary | Streaming | None:
    """The handler for the method in this version; None for the extended card; MethodNotFound otherwise."""
    if envelope.method == CARD_METHODS[version]:
        return None
    handler: Unary | Streaming | None = UNARY[version].get(envelope.method) or STREAMING[version].get(envelope.method)
    if handler is None:
        raise EnvelopeError(envelope.id, MethodNotFound(f"Method not found: {envelope.method!r} is not an A2A "
                                                        f"{version} method."))
    return handler


def is_streaming(envelope: Envelope, version: Version) -> bool:
    return envelope.method in STREAMING[version]


def success(request_id: str | int | None, result: Any) -> Json:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def failure(request_id: str | int | None, error: A2AError, *, version: Version) -> Json:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.jsonrpc(legacy=version == "0.3")}
