"""LiteLLM's `/spend/calculate`: what a call would cost (model + messages) or did cost (a completion response).

Priced as the gateway charges: a model group's first deployment price (its own, else the shipped price
table's), else the price table's row for the name. Prompt tokens of `messages` are counted the way
admission counts them (`apps.providers.tokens`); a completion response is priced from its `usage`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.core.errors import InvalidRequest
from apps.providers.adapters.openai import usage_from_openai
from apps.providers.base import Usage
from apps.providers.pricing import ModelPrice, cost_for, price_for
from apps.providers.tokens import chat_tokens
from apps.routing.snapshot import RoutingTable, list_price

FIELDS = frozenset({"model", "messages", "completion_response"})


@dataclass(frozen=True, slots=True)
class SpendQuestion:
    """A checked `/spend/calculate` body: a model with messages, or a completion response."""

    model: str | None = None
    messages: list[Any] | None = None
    completion_response: dict[str, Any] | None = None


def parse_spend_question(body: Any) -> SpendQuestion:
    """The body, or a 400 naming the field."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidRequest(f"{unknown[0]}: Unknown field '{unknown[0]}'.", param=unknown[0], code="invalid_value")
    for name, kind, label in (("model", str, "a string"), ("messages", list, "an array"),
                              ("completion_response", dict, "an object")):
        if body.get(name) is not None and not isinstance(body[name], kind):
            raise InvalidRequest(f"{name}: must be {label}.", param=name, code="invalid_type")
    question = SpendQuestion(model=body.get("model"), messages=body.get("messages"),
                             completion_response=body.get("completion_response"))
    if question.model is not None and question.messages is None:
        raise InvalidRequest("Bad Request - messages must be provided if 'model' is provided", param="messages",
                             code="missing_required_parameter")
    if question.model is None and question.completion_response is None:
        raise InvalidRequest("Bad Request - Either 'model' or 'completion_response' must be provided", param="model",
                             code="missing_required_parameter")
    return question


def model_price(table: RoutingTable, model: str, visible: frozenset[str] | None = None) -> ModelPrice:
    """The price the gateway charges for `model`, or a 400 when neither a deployment nor the table has one.

    A model group the caller may not call (not in `visible`; None: all) is priced as if it did not exist, from
    the public price table alone, so neither its existence nor its own price leaks.
    """
    seen = visible is None or model in visible or table.group_for(model) in visible
    records = table.deployments(model) if seen else ()
    if records:
        record = records[0]
        listed = list_price(record.target.provider, record.target.model)
        own = (record.input_cost_per_token, record.output_cost_per_token)
        if listed is not None and own == (listed.input_cost_per_token, listed.output_cost_per_token):
            return listed  # with its cache-read and cache-write rates
        if own != (None, None):
            return ModelPrice(input_cost_per_token=own[0] or Decimal(0), output_cost_per_token=own[1] or Decimal(0))
    found = price_for("", model)
    if found is None:
        raise InvalidRequest(f"No price is known for model={model}: set input_cost_per_token and "
                             "output_cost_per_token on its deployment.", param="model", code="model_not_priced")
    return found


def spend_calculate(table: RoutingTable, question: SpendQuestion,
                    visible: frozenset[str] | None = None) -> dict[str, float]:
    """LiteLLM's answer, `{"cost": USD}`."""
    if question.model is not None:
        usage = Usage(prompt_tokens=chat_tokens(question.messages or []))
        return {"cost": float(cost_for(model_price(table, question.model, visible), usage))}
    response = question.completion_response or {}
    model = response.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("completion_response.model: required to price the response.",
                             param="completion_response.model", code="missing_required_parameter")
    usage = usage_from_openai(response.get("usage") if isinstance(response.get("usage"), Mapping) else None)
    return {"cost": float(cost_for(model_price(table, model, visible), usage))}
