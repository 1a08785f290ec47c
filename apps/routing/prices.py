"""A deployment's price, worked out once per snapshot record: its own prices where set, the price table's for the rest."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.routing.snapshot import DeploymentRecord
from apps.teams.costing import Price, listed_price

PRICES_KEPT = 4096  # deployments whose price is kept; the whole cache is dropped past it (snapshot rebuilds)
# id(record) -> (record, its price); the record is kept with it, so its id cannot be reused by another record
# while the entry lives.
_prices: dict[int, tuple[DeploymentRecord, Price]] = {}


def deployment_price(deployment: DeploymentRecord) -> Price:
    """The deployment's price and reservation rates (kept per snapshot record: records are immutable)."""
    kept = _prices.get(id(deployment))
    if kept is not None and kept[0] is deployment:
        return kept[1]
    if len(_prices) >= PRICES_KEPT:
        _prices.clear()
    price = _deployment_price(deployment)
    _prices[id(deployment)] = (deployment, price)
    return price


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def _deployment_price(deployment: DeploymentRecord) -> Price:
    """The deployment's own prices where set, the price table's for the rest, else zero."""
    info = deployment.model_info
    base = str(info.get("base_model") or "")  # model_info.base_model: its list price and output cap apply
    listed = (listed_price("" if "/" in base else deployment.target.provider, base) if base else None) \
        or listed_price(deployment.target.provider, deployment.target.model) or Price()
    given_in = _decimal(deployment.input_cost_per_token if deployment.input_cost_per_token is not None
                        else info.get("input_cost_per_token"))
    given_out = _decimal(deployment.output_cost_per_token if deployment.output_cost_per_token is not None
                         else info.get("output_cost_per_token"))
    max_output = info.get("max_output_tokens") or info.get("max_tokens") or listed.max_output_tokens
    return Price(input_cost_per_token=given_in if given_in is not None else listed.input_cost_per_token,
                 output_cost_per_token=given_out if given_out is not None else listed.output_cost_per_token,
                 # The snapshot fills a row's rates from the table, so a rate equal to the listed one is not the
                 # deployment's own: the listed cache-read price still applies to it.
                 cache_read_cost_per_token=listed.cache_read_cost_per_token
                 if given_in is None or given_in == listed.input_cost_per_token else None,
                 max_output_tokens=int(max_output) if max_output else None)
