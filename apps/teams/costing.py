"""What a call costs: usage x price, in integer nanodollars, and the worst case reserved before it runs.

Everything here works from a `Price` value; routing works out a deployment's (once per snapshot record) from
its own `input_cost_per_token` / `output_cost_per_token` (or per-second prices), else from the shipped price table in
`apps.providers.pricing`. A model with no known price costs nothing (and is logged once), so budgets
only bind priced models.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.conf import settings

from apps.core import jsonutil
from apps.providers.base import ChatCall, EmbeddingCall, Usage

logger = logging.getLogger("tollgate.costing")
NANOS = Decimal(1_000_000_000)
ATTO = Decimal(10) ** 18
ZERO = Decimal(0)
CHARS_PER_TOKEN = 4  # the usual English average; used only where the provider sent no usage


def to_atto(amount: Decimal) -> int:
    """USD as integer 1e-18 USD, rounded up (every listed per-token price is exact at this scale)."""
    return int((amount * ATTO).to_integral_value(ROUND_CEILING))


@dataclass(frozen=True, slots=True)
class Price:
    """USD per token (and per second) for one deployment, with its rates in 1e-18 USD rounded up, for reservations.

    Per-second prices (LiteLLM's `input_cost_per_second` / `output_cost_per_second`) bill the call's duration,
    at most `max_seconds` (the deployment's timeout): the time its reservation covers.
    """

    input_cost_per_token: Decimal = ZERO
    output_cost_per_token: Decimal = ZERO
    cache_read_cost_per_token: Decimal | None = None
    max_output_tokens: int | None = None
    cache_creation_cost_per_token: Decimal | None = None
    input_cost_per_second: Decimal = ZERO
    output_cost_per_second: Decimal = ZERO
    max_seconds: float = 0.0
    input_rate: int = field(init=False, compare=False)
    output_rate: int = field(init=False, compare=False)
    per_second: Decimal = field(init=False, compare=False)  # USD per second of the call, input and output
    time_reserve: int = field(init=False, compare=False)  # the per-second cost of max_seconds, in 1e-18 USD

    def __post_init__(self) -> None:
        # Worked out once per price, so a reservation is integer arithmetic only.
        object.__setattr__(self, "input_rate", to_atto(self.input_cost_per_token))
        object.__setattr__(self, "output_rate", to_atto(self.output_cost_per_token))
        object.__setattr__(self, "per_second", self.input_cost_per_second + self.output_cost_per_second)
        object.__setattr__(self, "time_reserve", to_atto(self.per_second * Decimal(math.ceil(self.max_seconds))))


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


def cost(price: Price, usage: Usage, seconds: float = 0.0) -> Decimal:
    """USD for this usage over this many seconds; cached prompt tokens at the cache-read price and cache writes at
    the cache-write price when there are such prices; per-second prices for at most `price.max_seconds`."""
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    read_rate = price.cache_read_cost_per_token if price.cache_read_cost_per_token is not None \
        else price.input_cost_per_token
    written = min(usage.cache_creation_tokens, usage.prompt_tokens - cached) \
        if price.cache_creation_cost_per_token is not None else 0
    total = (price.input_cost_per_token * (usage.prompt_tokens - cached - written) + read_rate * cached
             + price.output_cost_per_token * usage.completion_tokens)
    if written:
        total += (price.cache_creation_cost_per_token or ZERO) * written
    if price.per_second and seconds > 0:
        total += price.per_second * Decimal(repr(min(seconds, price.max_seconds)))
    return total


def to_nanos(amount: Decimal, *, up: bool = False) -> int:
    """USD as integer nanodollars: rounded half-up, or up (reservations never round down)."""
    return int((amount * NANOS).to_integral_value(ROUND_CEILING if up else ROUND_HALF_UP))


def from_nanos(amount: int) -> Decimal:
    """Integer nanodollars as USD (exact at the database's 10 decimal places)."""
    return Decimal(amount) / NANOS


def usage_cost_nanos(price: Price, usage: Usage, seconds: float = 0.0) -> int:
    """What this usage (over this many seconds) costs at this price, in nanodollars."""
    return to_nanos(cost(price, usage, seconds))


def prompt_token_bound(call: ChatCall) -> int:
    """An upper bound on prompt tokens: the request's JSON bytes (no tokenizer makes a token of less than a byte)."""
    tools = call.params.get("tools")
    return len(jsonutil.dumps(call.messages)) + (len(jsonutil.dumps(tools)) if tools else 0)


def embedding_token_bound(call: EmbeddingCall) -> int:
    """An upper bound on embedding input tokens."""
    return sum(len(item) if isinstance(item, list) else len(str(item).encode()) for item in call.inputs)


def completion_token_bound(call: ChatCall, price: Price) -> int:
    """max_tokens (else the model's output cap, else TOLLGATE_RESERVE_MAX_TOKENS) for every choice."""
    cap = call.max_tokens or price.max_output_tokens or settings.TOLLGATE_RESERVE_MAX_TOKENS
    choices = call.params.get("n")
    return cap * (choices if isinstance(choices, int) and choices > 0 else 1)


def worst_case_nanos(prices: Iterable[Price], *, prompt_tokens: int,
                     completion_tokens: Sequence[int] | None = None) -> int:
    """The dearest price's cost for this many tokens, rounded up (in integers: one per call)."""
    dearest = 0
    for index, price in enumerate(prices):
        completion = completion_tokens[index] if completion_tokens else 0
        dearest = max(dearest, -(-(prompt_tokens * price.input_rate + completion * price.output_rate
                                   + price.time_reserve) // 1_000_000_000))
    return dearest


def approx_tokens(characters: int) -> int:
    """Tokens in text of this many characters the provider never counted (a stream cut short): about four
    characters each."""
    return math.ceil(characters / CHARS_PER_TOKEN) if characters > 0 else 0
