"""The A2A endpoints at `/a2a/{agent_id}`: JSON-RPC (0.3 and 1.0, chosen by `A2A-Version`), the 1.0 HTTP+JSON
binding beside it, and the agent card at the well-known paths. Every call needs a virtual key that may use the
agent; an unknown agent and one the key may not use answer alike."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from apps.agents import jsonrpc
from apps.agents.cards import agent_card
from apps.agents.errors import A2AError, InternalError, Unauthenticated, VersionNotSupported
from apps.agents.ids import new_id
from apps.agents.registry import agent_table, may_call
from apps.agents.service import extended_card
from apps.agents.turns import CallContext, a2a_error
from apps.agents.wire import SUPPORTED_VERSIONS, Json, Version, parse_version
from apps.core.errors import AuthenticationFailed, GatewayError
from apps.core.http import read_body, request_id
from apps.core.responses import json_response, sse_event, sse_response
from apps.teams.auth import Principal, authenticate

logger = logging.getLogger("tollgate.agents")


class AgentUnknown(A2AError):
    """No such agent for this key (as TaskNotFound does for tasks, existence is not revealed)."""

    code = -32001


def requested_version(request: HttpRequest) -> Version:
    """`A2A-Version` (header, else query parameter); absent means 0.3; anything else unsupported is refused."""
    raw = request.META.get("HTTP_A2A_VERSION") or request.GET.get("A2A-Version")
    version = parse_version(raw if isinstance(raw, str) else None)
    if version is None:
        raise VersionNotSupported(f"The requested A2A protocol version {raw} is not supported by this agent.",
                                  data={"supportedVersions": ",".join(SUPPORTED_VERSIONS)})
    return version


def base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


async def caller(request: HttpRequest) -> Principal:
    try:
        return await authenticate(request.META)
    except AuthenticationFailed as error:
        raise Unauthenticated(error.message, headers={"WWW-Authenticate": "Bearer"}) from None
    except GatewayError as error:
        raise a2a_error(error) from None


async def context_for(request: HttpRequest, agent_ref: str) -> CallContext:
    """The authenticated caller and the agent it may use, with the ids that follow the call."""
    principal = await caller(request)
    agent = (await agent_table.get()).find(agent_ref)
    if agent is None or not may_call(principal, agent):
        raise AgentUnknown(f"Agent {agent_ref} was not found.", data={"agentId": agent_ref})
    trace = request.META.get("HTTP_X_LITELLM_TRACE_ID")
    return CallContext(principal=principal, agent=agent, request_id=request_id(request),
                       trace_id=trace if isinstance(trace, str) and trace else new_id(),
                       extensions=str(request.META.get("HTTP_A2A_EXTENSIONS") or ""))


def rpc_answer(body: Json, *, rid: str, error: A2AError | None = None) -> HttpResponse:
    status = 401 if error is not None and error.code == Unauthenticated.code else 200
    return json_response(body, status=status, headers={"x-request-id": rid, **(error.headers if error else {})})


async def rpc_events(events: AsyncIterator[Json], request_id: str | int | None, version: Version) -> AsyncIterator[bytes]:
    """Each event as one JSON-RPC response on the SSE stream; a failure mid-way is the last one."""
    try:
        async for event in events:
            yield sse_event(jsonrpc.success(request_id, event))
    except A2AError as error:
        yield sse_event(jsonrpc.failure(request_id, error, version=version))
    except GatewayError as error:
        yield sse_event(jsonrpc.failure(request_id, a2a_error(error), version=version))


async def jsonrpc_view(request: HttpRequest, agent_id: str) -> HttpResponseBase:
    rid = request_id(request)
    version: Version = "0.3"
    envelope_id: str | int | None = None
    try:
        version = requested_version(request)
        ctx = await context_for(request, agent_id)
        envelope = jsonrpc.parse_envelope(read_body(request))
        envelope_id = envelope.id
        return await dispatch(request, ctx, envelope, version)
    except jsonrpc.EnvelopeError as error:
        return rpc_answer(jsonrpc.failure(error.request_id, error.error, version=version), rid=rid, error=error.error)
    except A2AError as error:
        return rpc_answer(jsonrpc.failure(envelope_id, error, version=version), rid=rid, error=error)
    except GatewayError as error:
        failure = a2a_error(error)
        return rpc_answer(jsonrpc.failure(envelope_id, failure, version=version), rid=rid, error=failure)
    except Exception:  # never an HTML page or the body in the log; the traceback goes to the log only
        logger.exception("unhandled error on %s %s", request.method, request.path)
        internal = InternalError("Internal error; the request id is in x-request-id.")
        return rpc_answer(jsonrpc.failure(envelope_id, internal, version=version), rid=rid, error=internal)


async def dispatch(request: HttpRequest, ctx: CallContext, envelope: jsonrpc.Envelope,
                   version: Version) -> HttpResponseBase:
    rid = request_id(request)
    handler = jsonrpc.method_of(envelope, version)
    if handler is None:
        return rpc_answer(jsonrpc.success(envelope.id, extended_card(ctx, base_url=base_url(request),
                                                                     version=version)), rid=rid)
    if jsonrpc.is_streaming(envelope, version):
        events = await handler(ctx, envelope.params)
        return sse_response(rpc_events(events, envelope.id, version), headers={"x-request-id": rid})
    return rpc_answer(jsonrpc.success(envelope.id, await handler(ctx, envelope.params)), rid=rid)


async def card_view(request: HttpRequest, agent_id: str) -> HttpResponse:
    """The agent card, our URLs in it, in the shape the client's A2A-Version asks for."""
    rid = request_id(request)
    try:
        version = requested_version(request)
        ctx = await context_for(request, agent_id)
    except A2AError as error:
        return json_response(error.rest(), status=error.http_status, headers={"x-request-id": rid, **error.headers})
    return json_response(agent_card(ctx.agent, base_url=base_url(request), version=version),
                         headers={"x-request-id": rid})


RestView = Callable[..., Awaitable[HttpResponseBase]]


def rest_errors(view: Callable[..., Awaitable[Any]]) -> RestView:
    """The HTTP+JSON binding's error shape (google.rpc.Status) and its version rule: 1.0 only."""
    async def wrapped(request: HttpRequest, agent_id: str, **kwargs: str) -> HttpResponseBase:
        rid = request_id(request)
        try:
            if requested_version(request) != "1.0":
                raise VersionNotSupported("The HTTP+JSON binding here speaks A2A 1.0; send A2A-Version: 1.0.",
                                          data={"supportedVersions": "1.0"})
            ctx = await context_for(request, agent_id)
            result = await view(request, ctx, **kwargs)
        except A2AError as error:
            return json_response(error.rest(), status=error.http_status, headers={"x-request-id": rid, **error.headers})
        except GatewayError as error:
            failure = a2a_error(error)
            return json_response(failure.rest(), status=failure.http_status, headers={"x-request-id": rid})
        except Exception:  # as JSON-RPC: the binding's error shape, the traceback in the log only
            logger.exception("unhandled error on %s %s", request.method, request.path)
            internal = InternalError("Internal error; the request id is in x-request-id.")
            return json_response(internal.rest(), status=500, headers={"x-request-id": rid})
        if isinstance(result, HttpResponseBase):
            return result
        return json_response(result, headers={"x-request-id": rid})
    wrapped.__name__ = view.__name__
    return wrapped


async def raw_events(events: AsyncIterator[Json]) -> AsyncIterator[bytes]:
    try:
        async for event in events:
            yield sse_event(event)
    except A2AError as error:
        yield sse_event(error.rest())
