"""The shipped price table (`prices.json`): typed, loaded once per process, looked up by provider and model.

Nothing is fetched at run time. Costs are exact `Decimal`s built from the table's decimal literals, and
`Usage` is read with OpenAI's semantics: `prompt_tokens` includes the cached and cache-write tokens,
and `completion_tokens` includes reasoning tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypedDict

from apps.core import jsonutil
from apps.providers.base import Usage

PRICES_PATH = Path(__file__).with_name("prices.json")
WILDCARD = "*"  # prices every model of a provider (self-hosted ones are free; mock has a test price)
# Cross-region inference-profile prefixes (Bedrock `us.anthropic...`): the base id is priced when the
# prefixed one is not listed.
REGION_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")
VERSION_DIGITS, HEX = 64, frozenset("0123456789abcdef")


class PriceEntry(TypedDict, total=False):
    """One model's row in `prices.json`."""

    input_cost_per_token: float
    output_cost_per_token: float
    cache_read_input_token_cost: float
    cache_creation_input_token_cost: float
    max_input_tokens: int
    max_output_tokens: int
    input_cost_per_audio_token: float  # realtime and audio models
    output_cost_per_audio_token: float
    cache_read_input_audio_token_cost: float


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's list price in USD per token and its context limits (None where unknown)."""

    input_cost_per_token: Decimal
    output_cost_per_token: Decimal
    cache_read_cost_per_token: Decimal | None = None
    cache_creation_cost_per_token: Decimal | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input_cost_per_audio_token: Decimal | None = None
    output_cost_per_audio_token: Decimal | None = None
    cache_read_audio_cost_per_token: Decimal | None = None


def exact(value: float | None) -> Decimal | None:
    """The decimal the table wrote (2.5e-06 -> Decimal('0.0000025')), not the binary float's expansion."""
    return None if value is None else Decimal(repr(float(value)))


def model_price(entry: PriceEntry) -> ModelPrice:
    return ModelPrice(input_cost_per_token=exact(entry.get("input_cost_per_token", 0.0)) or Decimal(0),
                      output_cost_per_token=exact(entry.get("output_cost_per_token", 0.0)) or Decimal(0),
                      cache_read_cost_per_token=exact(entry.get("cache_read_input_token_cost")),
                      cache_creation_cost_per_token=exact(entry.get("cache_creation_input_token_cost")),
                      max_input_tokens=entry.get("max_input_tokens"), max_output_tokens=entry.get("max_output_tokens"),
                      input_cost_per_audio_token=exact(entry.get("input_cost_per_audio_token")),
                      output_cost_per_audio_token=exact(entry.get("output_cost_per_audio_token")),
                      cache_read_audio_cost_per_token=exact(entry.get("cache_read_input_audio_token_cost")))


@cache
def price_document() -> dict[str, Any]:
    """`prices.json` as read, once per process."""
    document: dict[str, Any] = jsonutil.loads(PRICES_PATH.read_bytes())
    return document


@cache
def price_table() -> dict[str, dict[str, ModelPrice]]:
    """Provider -> model -> price, parsed once per process."""
    raw = price_document()["providers"]
    return {provider: {name: model_price(entry) for name, entry in models.items()}
            for provider, models in raw.items()}


@cache
def bare_model_providers() -> dict[str, str]:
    """Bare model name -> the provider serving it, from the providers the table lists as served bare."""
    document = price_document()
    found: dict[str, str] = {}
    for provider in document.get("bare_model_providers", ()):
        for name in document["providers"].get(provider, {}):
            if name != WILDCARD:
                found.setdefault(name, provider)
    return found


def name_candidates(model: str) -> list[str]:
    """The model name, then the name without a cross-region prefix or a pinned Replicate version
    (`owner/model:<64 hex digits>` is priced as `owner/model`)."""
    names = [model]
    for prefix in REGION_PREFIXES:
        if model.startswith(prefix):
            names.append(model[len(prefix):])
    base, sep, version = model.rpartition(":")
    if sep and len(version) == VERSION_DIGITS and all(char in HEX for char in version):
        names.append(base)
    return names


@lru_cache(maxsize=4096)  # misses are cached too: unknown models cost one lookup per process
def price_for(provider: str, model: str) -> ModelPrice | None:
    """The price of `model` at `provider`; `model` may be bare or `provider/model`; None when unknown.

    A known provider is searched alone (its own models, then its `*` row); with no or an unknown provider
    the bare model name is searched across every provider in table order (OpenAI first).
    """
    table = price_table()
    prefix, sep, rest = model.partition("/")
    if sep and prefix in table and provider in ("", prefix):
        provider, model = prefix, rest
    if provider in table:
        rows = table[provider]
        found = next((rows[name] for name in name_candidates(model) if name in rows), None)
        return found if found is not None else rows.get(WILDCARD)
    for rows in table.values():
        for name in name_candidates(model):
            if name in rows:
                return rows[name]
    return None


def cost_for(price: ModelPrice, usage: Usage) -> Decimal:
    """USD for one call: cache reads at the cache-read price, cache writes at the write price, the rest at list."""
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    written = min(usage.cache_creation_tokens, usage.prompt_tokens - cached)
    fresh = usage.prompt_tokens - cached - written
    read_rate = price.cache_read_cost_per_token
    write_rate = price.cache_creation_cost_per_token
    return (price.input_cost_per_token * fresh
            + (price.input_cost_per_token if read_rate is None else read_rate) * cached
            + (price.input_cost_per_token if write_rate is None else write_rate) * written
            + price.output_cost_per_token * usage.completion_tokens)
