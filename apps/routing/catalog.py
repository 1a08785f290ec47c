"""The model list a caller sees: the groups in the routing table it may use."""
from __future__ import annotations

from typing import Any

from apps.routing.router import model_not_found
from apps.routing.snapshot import RoutingTable, routing_table
from apps.teams.access import model_allowed
from apps.teams.auth import Principal

CREATED = 1_700_000_000  # models have no creation time here; a fixed stamp keeps answers stable


def visible_models(principal: Principal, table: RoutingTable) -> list[str]:
    """Model groups this caller may call."""
    key = principal.key
    if principal.is_master or key is None:
        return table.model_names
    return [name for name in table.model_names
            if model_allowed(name, key.models, table.access_groups)
            and model_allowed(name, key.team_models, table.access_groups)]


def card(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "tollgate"}


async def model_list(principal: Principal) -> dict[str, Any]:
    """OpenAI's `GET /v1/models` answer."""
    table = await routing_table.get()
    return {"object": "list", "data": [card(name) for name in visible_models(principal, table)]}


async def model_card(principal: Principal, model_id: str) -> dict[str, Any]:
    """OpenAI's `GET /v1/models/{id}` answer, 404 when unknown or not visible."""
    table = await routing_table.get()
    if model_id not in visible_models(principal, table):
        raise model_not_found(model_id)
    return card(model_id)
