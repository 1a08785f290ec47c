"""A deployment's realtime price: its text rates as every call's (its own, else the price table's), its audio
rates from `model_info` (`input_cost_per_audio_token`, ...), else the price table's."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.providers.pricing import price_for
from apps.providers.realtime import RealtimePrice, TokenRates
from apps.routing.prices import deployment_price
from apps.routing.snapshot import DeploymentRecord


def given(info: dict[str, Any], name: str, listed: Decimal | None, default: Decimal) -> Decimal:
    """`model_info`'s rate, else the listed one, else `default`."""
    value = info.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(repr(float(value)))
    return listed if listed is not None else default


def realtime_price(deployment: DeploymentRecord) -> RealtimePrice:
    """Text at the deployment's rates (cached at the cache-read rate, else full); audio at its audio rates,
    falling back to the text ones where none is listed (cached audio at the audio input rate)."""
    text = deployment_price(deployment)
    info = deployment.model_info
    base = str(info.get("base_model") or "")
    listed = (price_for("" if "/" in base else deployment.target.provider, base) if base else None) \
        or price_for(deployment.target.provider, deployment.target.model)
    text_rates = TokenRates(input=text.input_cost_per_token, output=text.output_cost_per_token,
                            cached=text.cache_read_cost_per_token if text.cache_read_cost_per_token is not None
                            else text.input_cost_per_token)
    audio_in = given(info, "input_cost_per_audio_token", listed.input_cost_per_audio_token if listed else None,
                     text_rates.input)
    audio = TokenRates(
        input=audio_in,
        output=given(info, "output_cost_per_audio_token", listed.output_cost_per_audio_token if listed else None,
                     text_rates.output),
        cached=given(info, "cache_read_input_audio_token_cost",
                     listed.cache_read_audio_cost_per_token if listed else None, audio_in))
    return RealtimePrice(text=text_rates, audio=audio)
