"""What a call costs: usage x price, in integer nanodollars, and the worst case reserved before it runs.

Prices come from the deployment (`input_cost_per_token` / `output_cost_per_token` in `litellm_params` or
`model_info`), else from the shipped price table in `apps.providers.pricing` when that module is present.
A model with no known price costs nothing (and is logged once), so budgets only bind priced models.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings

from apps.core import jsonutil
from apps.providers.base import ChatCall, EmbeddingCall, Usage
from apps.routing.snapshot import DeploymentRecord

logger = logging.getLogger("tollgate.costing")
NANOS = Decimal(1_000_000_000)
ZERO = Decimal(0)
CHARS_PER_TOKEN = 4  # the usual English average; used only where the provider sent no usage


@dataclass(frozen=True, slots=True)
class Price:
    """USD per token for one deployment."""

    input_cost_per_token: Decimal = ZERO
    output_cost_per_token: Decimal = ZERO
    cache_read_cost_per_token: Decimal | None = None
    max_output_tokens: int | None = None


@lru_cache(maxsize=4096)
def listed_price(provider: str, model: str) -> Price | None:
    """The shipped price table's entry, when `apps.providers.pricing` is installed and knows the model."""
    try:
        from apps.providers.pricing import price_for  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    found = price_for(provider, model)
    if found is None:
        logger.warning("no price for %s/%s: its calls are logged at cost 0", provider, model)
        return None
    return Price(found.input_cost_per_token, found.output_cost_per_token, found.cache_read_cost_per_token,
                 found.max_output_tokens)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


PRICES_KEPT = 4096  # deployments whose price is kept; the whole cache is dropped past it (snapshot rebuilds)
# id(record) -> (record, its price, its (input, output) USD per token in 1e-18 USD rounded up, for reservations)
_prices: dict[int, tuple[DeploymentRecord, Price, tuple[int, int]]] = {}
ATTO = Decimal(10) ** 18


def _kept_price(deployment: DeploymentRecord) -> tuple[Price, tuple[int, int]]:
    """The deployment's price and per-token rates, worked out once per snapshot record (records are immutable).

    The record is kept with them, so its id cannot be reused by another record while the entry lives."""
    kept = _prices.get(id(deployment))
    if kept is not None and kept[0] is deployment:
        return kept[1], kept[2]
    if len(_prices) >= PRICES_KEPT:
        _prices.clear()
    price = _deployment_price(deployment)
    rates = (to_atto(price.input_cost_per_token), to_atto(price.output_cost_per_token))
    _prices[id(deployment)] = (deployment, price, rates)
    return price, rates


def deployment_price(deployment: DeploymentRecord) -> Price:
    """The deployment's price (kept per snapshot record)."""
    return _kept_price(deployment)[0]


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
                 cache_read_cost_per_token=None if given_in is not None else listed.cache_read_cost_per_token,
                 max_output_tokens=int(max_output) if max_output else None)


def cost(price: Price, usage: Usage) -> Decimal:
    """USD for this usage; cached prompt tokens at the cache-read price when there is one."""
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    read_rate = price.cache_read_cost_per_token if price.cache_read_cost_per_token is not None \
        else price.input_cost_per_token
    return (price.input_cost_per_token * (usage.prompt_tokens - cached) + read_rate * cached
            + price.output_cost_per_token * usage.completion_tokens)


def to_nanos(amount: Decimal, *, up: bool = False) -> int:
    """USD as integer nanodollars: rounded half-up, or up (reservations never round down)."""
    return int((amount * NANOS).to_integral_value(ROUND_CEILING if up else ROUND_HALF_UP))


def to_atto(amount: Decimal) -> int:
    """USD as integer 1e-18 USD, rounded up (every listed per-token price is exact at this scale)."""
    return int((amount * ATTO).to_integral_value(ROUND_CEILING))


def from_nanos(amount: int) -> Decimal:
    """Integer nanodollars as USD (exact at the database's 10 decimal places)."""
    return Decimal(amount) / NANOS


def usage_cost_nanos(deployment: DeploymentRecord, usage: Usage) -> int:
    """What this usage on this deployment costs, in nanodollars."""
    return to_nanos(cost(deployment_price(deployment), usage))


def prompt_token_bound(call: ChatCall) -> int:
    """An upper bound on prompt tokens: the request's JSON bytes (no tokenizer makes a token of less than a byte)."""
    tools = call.params.get("tools")
    return len(jsonutil.dumps(call.messages)) + (len(jsonutil.dumps(tools)) if tools else 0)


def embedding_token_bound(call: EmbeddingCall) -> int:
    """An upper bound on embedding input tokens."""
    return sum(len(item) if isinstance(item, list) else len(str(item).encode()) for item in call.inputs)


def completion_token_bound(call: ChatCall, deployment: DeploymentRecord) -> int:
    """max_tokens (else the model's output cap, else TOLLGATE_RESERVE_MAX_TOKENS) for every choice."""
    cap = call.max_tokens or deployment_price(deployment).max_output_tokens or settings.TOLLGATE_RESERVE_MAX_TOKENS
    choices = call.params.get("n")
    return cap * (choices if isinstance(choices, int) and choices > 0 else 1)


def worst_case_nanos(deployments: Iterable[DeploymentRecord], *, prompt_tokens: int,
                     completion_tokens: Sequence[int] | None = None) -> int:
    """The dearest deployment's cost for this many tokens, rounded up (in integers: one per call)."""
    dearest = 0
    for index, deployment in enumerate(deployments):
        completion = completion_tokens[index] if completion_tokens else 0
        rates = _kept_price(deployment)[1]
        dearest = max(dearest, -(-(prompt_tokens * rates[0] + completion * rates[1]) // 1_000_000_000))
    return dearest


def approx_tokens(characters: int) -> int:
    """Tokens in text of this many characters the provider never counted (a stream cut short): about four
    characters each."""
    return math.ceil(characters / CHARS_PER_TOKEN) if characters > 0 else 0
