"""Admission that knows the routing table: a call's worst case is priced on the dearest deployment it may reach.

The levels, ledgers and budgets themselves are `apps.teams.metering`'s; this module only works out the
worst case (its group's deployments, then its fallback groups') and hands it down as a callable.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.providers.base import ChatCall, EmbeddingCall
from apps.routing.parsing import CallOptions
from apps.routing.prices import deployment_price
from apps.routing.router import fallback_models
from apps.routing.snapshot import RoutingTable
from apps.teams.auth import Principal
from apps.teams.costing import (
    CHARS_PER_TOKEN,
    Price,
    completion_token_bound,
    embedding_token_bound,
    prompt_token_bound,
    worst_case_nanos,
)
from apps.teams.metering import Meter, admit, request_end_user, request_tags


def candidate_prices(table: RoutingTable, model: str, options: CallOptions) -> list[Price]:
    """The price of every deployment the call may reach: its group's, then its fallback groups'."""
    names = (model, *fallback_models(table, model, options))
    return [deployment_price(deployment) for name in names for deployment in table.deployments(name)]


async def admit_chat(principal: Principal, table: RoutingTable, call: ChatCall, options: CallOptions, *,
                     request_id: str = "", call_type: str = "chat", body: Mapping[str, Any] | None = None) -> Meter:
    """Admit a chat call (or one served as chat, as /v1/messages is): worst case = prompt bound + max_tokens on the
    dearest reachable deployment. Tags and end user come from `body` (the request as sent, for calls translated to
    chat) else the call's params."""
    def worst_case() -> int:
        prices = candidate_prices(table, call.model, options)
        return worst_case_nanos(prices, prompt_tokens=prompt_token_bound(call),
                                completion_tokens=[completion_token_bound(call, p) for p in prices])

    def estimate_prompt() -> int:
        return prompt_token_bound(call) // CHARS_PER_TOKEN

    return await admit(principal, model=call.model, call_type=call_type, worst_case=worst_case,
                       request_id=request_id, estimate_prompt=estimate_prompt,
                       tags=with_tags(request_tags(call.params if body is None else body), options.tags),
                       end_user=request_end_user(call.params) or (request_end_user(body) if body else ""),
                       rate_limited=not options.limits_checked)


def with_tags(tags: tuple[str, ...], more: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*tags, *more))) if more else tags


async def admit_embedding(principal: Principal, table: RoutingTable, call: EmbeddingCall, options: CallOptions, *,
                          request_id: str = "") -> Meter:
    """Admit an embeddings call: worst case = input bound on the dearest reachable deployment."""
    def worst_case() -> int:
        return worst_case_nanos(candidate_prices(table, call.model, options), prompt_tokens=embedding_token_bound(call))

    return await admit(principal, model=call.model, call_type="embedding", worst_case=worst_case,
                       request_id=request_id, tags=request_tags(call.params),
                       end_user=request_end_user(call.params))
