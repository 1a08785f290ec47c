"""The images and audio calls without HTTP: the model's group resolved and checked, the worst case reserved, routed
like chat (retries, fallbacks, cooldowns), and settled at the call's real cost in its own unit."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TypeVar

from apps.providers.base import ProviderAdapter, Usage
from apps.providers.registry import adapter_for
from apps.routing.calls import table_for
from apps.routing.parsing import CallOptions, without_litellm_fields
from apps.routing.router import Attempt, Served, fallback_models, route
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.routing.strategies import CallShape
from apps.teams.auth import Principal
from apps.teams.metering import Meter, admit, request_end_user, request_tags

T = TypeVar("T")
Call = TypeVar("Call")


def reachable(table: RoutingTable, model: str, options: CallOptions) -> list[DeploymentRecord]:
    """The deployments a call may reach: its group's, then its fallback groups'."""
    names = (model, *fallback_models(table, model, options))
    return [deployment for name in names for deployment in table.deployments(name)]


def check_supported(table: RoutingTable, model: str, supported: Callable[[ProviderAdapter], bool],
                    refuse: Callable[[ProviderAdapter], object]) -> None:
    """`refuse` (raising the 400 naming the model) when no deployment of the group can serve the call."""
    deployments = [d for d in table.deployments(model) if d.supported]
    if deployments and not any(supported(adapter_for(d.target.provider)) for d in deployments):
        refuse(adapter_for(deployments[0].target.provider))


async def media_call(principal: Principal, call: Call, options: CallOptions, *, call_type: str, mode: str,
                     worst_case: Callable[[RoutingTable, Call], int], attempt: Callable[[Call], Attempt[T]],
                     check: Callable[[RoutingTable, Call], None], params: Mapping[str, object],
                     request_id: str = "", upstream_user: bool = True) -> tuple[Served[T], Meter]:
    """Admit and route one call; a failed or cancelled one frees its reservation. The caller settles a success.
    LiteLLM's own fields (and `user`, unless `upstream_user`: the provider's API has it) are not sent upstream."""
    table, call = await table_for(principal, call)  # type: ignore[type-var]
    check(table, call)
    meter = await admit(principal, model=call.model, call_type=call_type,  # type: ignore[attr-defined]
                        worst_case=lambda: worst_case(table, call), request_id=request_id,
                        tags=request_tags(params), end_user=request_end_user(params))
    call = replace(call, params=without_litellm_fields(call.params, user=upstream_user))  # type: ignore[type-var, attr-defined]
    try:
        served = await route(table, call.model, options, attempt(call), meter,  # type: ignore[attr-defined]
                             shape=CallShape(max_completion_tokens=0, mode=mode))
    except BaseException:
        meter.finish_soon(None, Usage(), price=None)
        raise
    return served, meter


def settle(meter: Meter, deployment: DeploymentRecord, cost_nanos: int, usage: Usage | None = None) -> None:
    """Settle a served call at its cost (logged with the tokens, where the provider counted any)."""
    meter.finish_soon(deployment, usage or Usage(), price=None, cost_nanos=cost_nanos)

