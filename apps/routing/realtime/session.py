"""One realtime session without the WebSocket server: who calls, which deployment serves it, what it spends.

Opening a session authenticates the key, checks its access to the model, admits the session's first response
(budgets and limits, as any call) and opens the upstream through the router (retries, cooldowns and fallbacks
apply to the handshake). Every `response.done` is billed as one call: its usage priced by token kind, written
as a spend row (`call_type` `realtime`), settled at once, and the next response admitted; a refusal there
(the budget spent, a limit reached) ends the session.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from websockets.asyncio.client import ClientConnection

from apps.core.errors import InvalidRequest
from apps.core.state import state
from apps.providers.adapters.realtime_openai import REALTIME_ADAPTERS
from apps.providers.base import Usage
from apps.providers.realtime import RealtimePrice, RealtimeUsage, open_upstream
from apps.routing.parsing import CallOptions
from apps.routing.realtime.handshake import RealtimeRequest
from apps.routing.realtime.pricing import realtime_price
from apps.routing.router import model_not_found, route
from apps.routing.snapshot import DeploymentRecord, routing_table
from apps.teams.access import check_model_access
from apps.teams.auth import Principal, authenticate
from apps.teams.costing import to_nanos
from apps.teams.metering import Meter, admit

CALL_TYPE = "realtime"
RESPONSE_OUTPUT_TOKENS = 4096  # a response's output cap when the model lists none (OpenAI's realtime models' cap)


class RealtimeUnsupported(InvalidRequest):
    """The model's deployments are on providers without a Realtime API."""

    code = "unsupported_operation"


@dataclass(slots=True)
class RealtimeSession:
    """An open session: its upstream connection and the admitted next response."""

    principal: Principal
    model: str
    deployment: DeploymentRecord
    upstream: ClientConnection
    price: RealtimePrice
    meter: Meter | None
    session_id: str = field(default_factory=lambda: f"rt-{uuid.uuid4().hex}")
    responses: int = 0


def worst_case(price: RealtimePrice, deployment: DeploymentRecord | None) -> int:
    """A response's reservation: its output cap at the dearest output rate (input is settled as it comes)."""
    info = deployment.model_info if deployment is not None else {}
    cap = info.get("max_output_tokens") or info.get("max_tokens") or RESPONSE_OUTPUT_TOKENS
    return to_nanos(price.dearest_output * Decimal(int(cap)), up=True)


async def admit_response(principal: Principal, model: str, *, request_id: str, price: RealtimePrice,
                         deployment: DeploymentRecord | None) -> Meter:
    """Admit one response of a session (raises BudgetExceeded / LimitReached as any call's admission)."""
    return await admit(principal, model=model, call_type=CALL_TYPE, request_id=request_id,
                       worst_case=lambda: worst_case(price, deployment))


async def session_open(request: RealtimeRequest) -> RealtimeSession:
    """Authenticate, check access, admit the first response and open the upstream; raises a GatewayError."""
    principal = await authenticate(request.meta)
    if not request.model:
        raise InvalidRequest("Missing required query parameter: 'model'.", param="model",
                             code="missing_required_parameter")
    aliases = principal.key.aliases if principal.key is not None else None
    model = (aliases or {}).get(request.model, request.model)
    table = await routing_table.get()
    if not table.deployments(model):
        raise model_not_found(model)
    check_model_access(principal, model, table.access_groups, requested=request.model if model != request.model
                       else "")
    first = table.deployments(model)[0]
    session_id = f"rt-{uuid.uuid4().hex}"
    meter = await admit_response(principal, model, request_id=f"{session_id}-1", price=realtime_price(first),
                                 deployment=first)

    async def attempt(deployment: DeploymentRecord) -> ClientConnection:
        adapter = REALTIME_ADAPTERS.get(deployment.target.provider)
        if adapter is None:
            raise RealtimeUnsupported(f"The model `{model}` is served by provider {deployment.target.provider!r}, "
                                      "which has no Realtime API here (openai and azure have).", param="model")
        upstream = adapter.realtime_upstream(deployment.target, query=request.query, headers=request.headers)
        return await open_upstream(adapter, upstream, deployment.target)

    try:
        served = await route(table, model, CallOptions(), attempt, meter)
    except BaseException:
        meter.finish_soon(None, Usage(), price=None)
        raise
    return RealtimeSession(principal=principal, model=model, deployment=served.deployment, upstream=served.value,
                           price=realtime_price(served.deployment), meter=meter, session_id=session_id)


async def session_bill(session: RealtimeSession, usage: RealtimeUsage) -> None:
    """Write and settle one response's spend, then admit the next (raises when it may not run)."""
    meter, session.meter = session.meter, None
    session.responses += 1
    if meter is not None:
        settlement = meter.settlement(session.deployment, usage.usage, price=None,
                                      cost_nanos=to_nanos(session.price.cost(usage)))
        if settlement is not None:
            await state().settle_and_push_many([settlement])
    session.meter = await admit_response(session.principal, session.model, price=session.price,
                                         request_id=f"{session.session_id}-{session.responses + 1}",
                                         deployment=session.deployment)


def session_end(session: RealtimeSession) -> None:
    """Free the reservation of the response that never came."""
    if session.meter is not None:
        session.meter.finish_soon(None, Usage(), price=None)
        session.meter = None
