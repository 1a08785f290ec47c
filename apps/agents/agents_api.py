"""LiteLLM's agent management and discovery at `/v1/agents`: any key lists the agents it may use (each with
its card, our URLs in it); proxy admins create, replace, change and delete them."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from apps.agents import management
from apps.agents.a2a_api import base_url
from apps.agents.cards import agent_card
from apps.agents.registry import AgentRecord, agent_table, may_call
from apps.agents.store import in_thread
from apps.core import jsonutil
from apps.core.audit_context import audit_scope_opened
from apps.core.secret_params import redacted
from apps.core.errors import GatewayError, InvalidRequest, NotFound, PermissionDenied
from apps.core.http import read_body, request_id
from apps.core.middleware import MethodNotAllowed
from apps.core.responses import error_response, json_response
from apps.teams.auth import Principal, authenticate, hash_key, key_from_meta
from apps.teams.selectors import caller_for_key

SECRET_PARAMS = ("api_key", "extra_headers")
View = Callable[..., Awaitable[HttpResponse]]


def openai_errors(view: View) -> View:
    """Errors in OpenAI's shape, as the management API answers them."""
    @functools.wraps(view)
    async def wrapped(request: HttpRequest, **kwargs: str) -> HttpResponse:
        try:
            return await view(request, **kwargs)
        except GatewayError as error:
            return error_response(error, headers={"x-request-id": request_id(request)})
    return wrapped


def admin_of(raw_key: str | None) -> str | None:
    """The acting user's id when the key belongs to a proxy admin, else None."""
    found = caller_for_key(raw_key) if raw_key else None
    return (found.user_id or "proxy_admin") if found is not None and found.is_admin else None


async def require_admin(request: HttpRequest, principal: Principal) -> str:
    """Who is writing (for created_by), or 403 unless a proxy admin."""
    if principal.is_master:
        return "master"
    user = await in_thread(admin_of, raw_key=key_from_meta(request.META))
    if user is None:
        raise PermissionDenied("Only a proxy admin (the master key or a proxy_admin user's key) can manage agents.")
    return user


def actor(request: HttpRequest, principal: Principal, user: str) -> str:
    """Who the audit log names for a write: the master key, or the admin's key by hash (as the management API does)."""
    if principal.is_master:
        return "master key"
    return f"key:{hash_key(key_from_meta(request.META) or '')} (user:{user})"


def listed(agent: AgentRecord, row: dict[str, Any] | None, *, base: str, admin: bool) -> dict[str, Any]:
    """LiteLLM's AgentResponse with no secret in its params. An admin reads the card as stored (what a PUT puts
    back); any other caller the card it calls, rewritten to the gateway's URLs."""
    params = redacted({k: v for k, v in agent.params.items() if k not in SECRET_PARAMS})
    answer: dict[str, Any] = {"agent_id": agent.agent_id, "agent_name": agent.name, "litellm_params": params,
                              "agent_card_params": agent_card(agent, base_url=base, version="0.3"),
                              "created_at": None, "updated_at": None, "created_by": None, "updated_by": None}
    if row is not None:
        answer.update({k: row[k] for k in ("created_at", "updated_at", "created_by", "updated_by")})
        if admin:
            answer["agent_card_params"] = row["agent_card_params"]
    return answer


def stored_answer(agent_id: str) -> dict[str, Any]:
    """An agent's row as an admin reads it (a disabled one too), no secret in its params."""
    answer = management.agent_get(agent_id=agent_id)
    return {**answer, "litellm_params": {k: v for k, v in answer["litellm_params"].items() if k not in SECRET_PARAMS}}


async def is_admin(request: HttpRequest, principal: Principal) -> bool:
    return principal.is_master or await in_thread(admin_of, raw_key=key_from_meta(request.META)) is not None


def stamps() -> dict[str, dict[str, Any]]:
    return {agent_id: management.agent_answer(row) for agent_id, row in management.agent_rows().items()}


def body_of(request: HttpRequest) -> Any:
    try:
        return jsonutil.loads(read_body(request) or b"null")
    except jsonutil.JSONDecodeError:
        raise InvalidRequest("We could not parse the JSON body of your request.", code="invalid_json") from None


@openai_errors
async def agents_view(request: HttpRequest) -> HttpResponse:
    principal = await authenticate(request.META)
    rid = {"x-request-id": request_id(request)}
    if request.method == "GET":
        agents = [agent for agent in (await agent_table.get()).all() if may_call(principal, agent)]
        rows = await in_thread(stamps)
        base, admin = base_url(request), await is_admin(request, principal)
        return json_response([listed(agent, rows.get(agent.agent_id), base=base, admin=admin) for agent in agents],
                             headers=rid)
    if request.method != "POST":
        raise MethodNotAllowed(f"Method {request.method} is not allowed on {request.path}.", headers={"Allow": "GET, POST"})
    user = await require_admin(request, principal)
    with audit_scope_opened(request, caller=actor(request, principal, user)):
        created = await in_thread(management.agent_create, body=body_of(request), created_by=user,
                                  gateway_base=base_url(request))
    return json_response(created, headers=rid)


@openai_errors
async def agent_view(request: HttpRequest, agent_id: str) -> HttpResponse:
    principal = await authenticate(request.META)
    rid = {"x-request-id": request_id(request)}
    if request.method == "GET":
        agent = (await agent_table.get()).find(agent_id)
        if agent is not None and agent.kind != "code" and await is_admin(request, principal):
            # the row as stored, a disabled agent's too
            return json_response(await in_thread(stored_answer, agent_id=agent.agent_id), headers=rid)
        if agent is not None and may_call(principal, agent):
            rows = await in_thread(stamps)
            return json_response(listed(agent, rows.get(agent.agent_id), base=base_url(request), admin=False),
                                 headers=rid)
        if agent is None and await is_admin(request, principal):  # a disabled agent is still there for the admin
            return json_response(await in_thread(stored_answer, agent_id=agent_id), headers=rid)
        raise NotFound(f"Agent with ID {agent_id} not found", param="agent_id")
    user = await require_admin(request, principal)
    with audit_scope_opened(request, caller=actor(request, principal, user)):
        if request.method in ("PUT", "PATCH"):
            changed = await in_thread(management.agent_update, agent_id=agent_id, body=body_of(request),
                                      updated_by=user, partial=request.method == "PATCH",
                                      gateway_base=base_url(request))
            return json_response(changed, headers=rid)
        if request.method == "DELETE":
            return json_response(await in_thread(management.agent_delete, agent_id=agent_id), headers=rid)
    raise MethodNotAllowed(f"Method {request.method} is not allowed on {request.path}.",
                           headers={"Allow": "GET, PUT, PATCH, DELETE"})

