"""Image and audio list prices (`media_prices.json`, LiteLLM's units and field names): per image by size and quality,
per second of audio, per character of speech input, or per token where the provider bills tokens.

A deployment's `model_info` may carry the same fields (`output_cost_per_image`, `input_cost_per_second`, ...); they
win over the table, as in LiteLLM.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from apps.core import jsonutil
from apps.providers.pricing import exact

MEDIA_PRICES_PATH = Path(__file__).with_name("media_prices.json")
PREMIUM = ("premium", "hd", "high")  # OpenAI's top qualities ask Titan for its premium one
IMAGE_FIELDS = ("input_cost_per_image", "output_cost_per_image", "input_cost_per_pixel")
PriceRow = Mapping[str, Any]


@cache
def media_table() -> dict[str, dict[str, PriceRow]]:
    """Provider -> price key -> row, read once per process."""
    document: dict[str, Any] = jsonutil.loads(MEDIA_PRICES_PATH.read_bytes())
    return document["providers"]


@lru_cache(maxsize=4096)
def media_row(provider: str, key: str) -> PriceRow | None:
    """The row of `key` at `provider` (Azure and Vertex deployments fall back to OpenAI's and Gemini's names)."""
    table = media_table()
    found = table.get(provider, {}).get(key)
    if found is None and provider in MEDIA_FALLBACK:
        found = table.get(MEDIA_FALLBACK[provider], {}).get(key)
    return found


MEDIA_FALLBACK = {"azure": "openai", "vertex_ai": "gemini"}


def size_key(size: str) -> str:
    """`1024x1024` as LiteLLM's keys write it: `1024-x-1024`."""
    return size.lower().replace("x", "-x-")


def pixels(size: str) -> int:
    width, _, height = size.lower().partition("x")
    try:
        return int(width) * int(height)
    except ValueError:
        return 1024 * 1024


def image_keys(model: str, *, size: str, quality: str) -> list[str]:
    """The table keys tried for one image, most specific first."""
    sized = size_key(size)
    keys = [f"{quality}/{sized}/{model}"] if quality else []
    return [*keys, f"{sized}/{model}", f"{sized}/50-steps/{model}", model]


def row_image_price(row: PriceRow, *, size: str, quality: str) -> Decimal | None:
    """USD for one image from a row: its per-image price (premium where asked), else its price per pixel."""
    if quality in PREMIUM and row.get("output_cost_per_image_premium_image") is not None:
        return exact(row["output_cost_per_image_premium_image"])
    for name in ("input_cost_per_image", "output_cost_per_image"):
        if row.get(name):
            return exact(row[name])
    if row.get("input_cost_per_pixel") is not None:
        per_pixel = (exact(row["input_cost_per_pixel"]) or Decimal(0)) + (exact(row.get("output_cost_per_pixel")) or 0)
        return per_pixel * pixels(size)
    return None


def image_price(provider: str, model: str, *, size: str, quality: str,
                model_info: Mapping[str, Any]) -> Decimal | None:
    """USD per image of this size and quality; None when neither model_info nor the table prices it."""
    if any(model_info.get(name) is not None for name in IMAGE_FIELDS):
        return row_image_price(model_info, size=size, quality=quality)
    for key in image_keys(model, size=size, quality=quality):
        row = media_row(provider, key)
        if row is not None and (price := row_image_price(row, size=size, quality=quality)) is not None:
            return price
    return None


def model_row(provider: str, model: str, model_info: Mapping[str, Any]) -> dict[str, Any]:
    """The model's table row with model_info's prices over it."""
    row = dict(media_row(provider, model) or {})
    row.update({name: value for name, value in model_info.items() if "cost" in name})
    return row


def rate(row: Mapping[str, Any], name: str) -> Decimal | None:
    return exact(row[name]) if row.get(name) is not None else None
