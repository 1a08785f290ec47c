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


def _own(deployment: DeploymentRecord, name: str) -> Decimal | None:
    """A price the deployment's config gives itself: in model_info, else in litellm_params."""
    value = deployment.model_info.get(name)
    return _decimal(value if value is not None else deployment.target.extra.get(name))


def _deployment_price(deployment: DeploymentRecord) -> Price:
    """The deployment's own prices where set, the price table's for the rest, else zero.

    Per-second prices (LiteLLM's, for SageMaker endpoints and the like) are the deployment's own price: with them,
    the listed per-token prices do not apply (LiteLLM bills one or the other), and the duration billed is at most
    the deployment's timeout, which is what its reservation covers."""
    info = deployment.model_info
    base = str(info.get("base_model") or "")  # model_info.base_model: its list price and output cap apply
    listed = (listed_price("" if "/" in base else deployment.target.provider, base) if base else None) \
        or listed_price(deployment.target.provider, deployment.target.model) or Price()
    given_in = _decimal(deployment.input_cost_per_token if deployment.input_cost_per_token is not None
                        else info.get("input_cost_per_token"))
    given_out = _decimal(deployment.output_cost_per_token if deployment.output_cost_per_token is not None
                         else info.get("output_cost_per_token"))
    per_second = (_own(deployment, "input_cost_per_second"), _own(deployment, "output_cost_per_second"))
    if any(rate is not None for rate in per_second):  # the snapshot fills unset rates from the table: not ours
        given_in = given_in if given_in != listed.input_cost_per_token else None
        given_out = given_out if given_out != listed.output_cost_per_token else None
        listed = Price(max_output_tokens=listed.max_output_tokens)
    max_output = info.get("max_output_tokens") or info.get("max_tokens") or listed.max_output_tokens
    own_read = _own(deployment, "cache_read_input_token_cost")
    return Price(input_cost_per_token=given_in if given_in is not None else listed.input_cost_per_token,
                 output_cost_per_token=given_out if given_out is not None else listed.output_cost_per_token,
                 # The snapshot fills a row's rates from the table, so a rate equal to the listed one is not the
                 # deployment's own: the listed cache-read price still applies to it.
                 cache_read_cost_per_token=own_read if own_read is not None else listed.cache_read_cost_per_token
                 if given_in is None or given_in == listed.input_cost_per_token else None,
                 cache_creation_cost_per_token=_own(deployment, "cache_creation_input_token_cost"),
                 input_cost_per_second=per_second[0] or Decimal(0), output_cost_per_second=per_second[1] or Decimal(0),
                 max_seconds=deployment.target.timeout if any(per_second) else 0.0,
                 max_output_tokens=int(max_output) if max_output else None)
