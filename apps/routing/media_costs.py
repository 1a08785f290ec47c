"""What an image or audio call costs on a deployment, in nano-USD: per image (size x quality), per second of audio,
per character of speech, or per token where the provider bills tokens (gpt-image, gpt-4o-transcribe, Gemini TTS)."""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from apps.providers.audio import SpeechCall, SpeechUsage, Transcript, TranscriptionCall, file_seconds
from apps.providers.images import ImageCall, ImageResult
from apps.providers.media_pricing import image_price, model_row, rate
from apps.routing.prices import deployment_price
from apps.routing.snapshot import DeploymentRecord
from apps.teams.costing import CHARS_PER_TOKEN, to_nanos

DEFAULT_SIZE = "1024x1024"
QUALITIES = ("high", "hd", "premium", "medium", "standard", "low", "")  # dearest first, for the worst case
BYTES_PER_SECOND_FLOOR = 1000  # 8 kbit/s: no speech codec in use packs a second into fewer bytes
AUDIO_TOKENS_PER_SECOND = 50  # a generous bound on audio tokens per second for token-billed transcription
# A generous bound on the audio tokens speech of one character of text takes: Gemini's audio is 32 tokens a second
# (25 at most as its TTS writes it) and even slow speech reads more than 8 characters a second.
AUDIO_TOKENS_PER_CHARACTER = 4


def nanos(amount: Decimal | None) -> int:
    return to_nanos(amount, up=True) if amount is not None else 0


def per_image(deployment: DeploymentRecord, call: ImageCall, quality: str) -> Decimal | None:
    target = deployment.target
    return image_price(target.provider, target.model, size=call.size or DEFAULT_SIZE, quality=quality,
                       model_info=deployment.model_info)


def default_qualities(deployment: DeploymentRecord) -> tuple[str, ...]:
    """The qualities an unset (or `auto`) quality may be billed at: dall-e's default `standard`; every one for
    token-billed models (gpt-image picks its own)."""
    row = model_row(deployment.target.provider, deployment.target.model, deployment.model_info)
    return QUALITIES if rate(row, "output_cost_per_image_token") is not None else ("standard", *QUALITIES)


def image_worst_case(deployment: DeploymentRecord, call: ImageCall) -> int:
    """The most `call.n` images may cost here: the asked quality's price, else the default's (the dearest listed
    where the provider chooses)."""
    qualities = (call.quality,) if call.quality and call.quality != "auto" else default_qualities(deployment)
    prices = [price for quality in qualities if (price := per_image(deployment, call, quality)) is not None]
    if qualities[0] == "standard" and prices and per_image(deployment, call, "standard") is not None:
        return nanos(prices[0] * call.n)
    return nanos(max(prices) * call.n) if prices else 0


def image_token_cost(deployment: DeploymentRecord, usage: dict[str, Any]) -> Decimal | None:
    """gpt-image's bill from its `usage`: text and image input tokens and image output tokens at their rates."""
    row = model_row(deployment.target.provider, deployment.target.model, deployment.model_info)
    output_rate = rate(row, "output_cost_per_image_token")
    if output_rate is None:
        return None
    details = usage.get("input_tokens_details") or {}
    image_in = int(details.get("image_tokens") or 0)
    text_in = int(details.get("text_tokens", int(usage.get("input_tokens") or 0) - image_in) or 0)
    return ((rate(row, "input_cost_per_token") or Decimal(0)) * text_in
            + (rate(row, "input_cost_per_image_token") or Decimal(0)) * image_in
            + output_rate * int(usage.get("output_tokens") or 0))


def image_cost(deployment: DeploymentRecord, call: ImageCall, result: ImageResult) -> int:
    """The images' bill: by tokens when the answer has gpt-image usage, else per image of its size and quality."""
    usage = result.body.get("usage")
    if isinstance(usage, dict) and (by_tokens := image_token_cost(deployment, usage)) is not None:
        return nanos(by_tokens)
    quality = call.quality if call.quality and call.quality != "auto" else "standard"
    price = per_image(deployment, call, quality) or per_image(deployment, call, "medium")
    return nanos(price * result.images) if price is not None else 0


def seconds_bound(call: TranscriptionCall) -> float:
    """The longest the upload can play: its header's duration (a second's slack), else its size at 8 kbit/s."""
    seconds = file_seconds(call.file)
    return seconds + 1 if seconds is not None else call.file.size / BYTES_PER_SECOND_FLOOR


def transcription_worst_case(deployment: DeploymentRecord, seconds: float) -> int:
    row = model_row(deployment.target.provider, deployment.target.model, deployment.model_info)
    per_second = rate(row, "input_cost_per_second")
    if per_second is not None:
        return nanos(per_second * Decimal(repr(seconds)))
    per_audio_token = rate(row, "input_cost_per_audio_token")
    if per_audio_token is not None:
        return nanos(per_audio_token * math.ceil(seconds * AUDIO_TOKENS_PER_SECOND))
    return 0


def transcription_cost(deployment: DeploymentRecord, transcript: Transcript, file_length: float | None) -> int:
    """Seconds (as the upstream reported them, else the file's) at the per-second rate, or tokens where billed so."""
    row = model_row(deployment.target.provider, deployment.target.model, deployment.model_info)
    per_audio_token = rate(row, "input_cost_per_audio_token")
    if transcript.usage is not None and per_audio_token is not None:
        text_in = transcript.usage.prompt_tokens - transcript.audio_tokens
        return nanos(per_audio_token * transcript.audio_tokens
                     + (rate(row, "input_cost_per_token") or Decimal(0)) * text_in
                     + (rate(row, "output_cost_per_token") or Decimal(0)) * transcript.usage.completion_tokens)
    per_second = rate(row, "input_cost_per_second")
    seconds = transcript.seconds if transcript.seconds is not None else file_length
    if per_second is None or seconds is None:
        return 0
    return nanos(per_second * Decimal(repr(float(seconds))))


def speech_cost(deployment: DeploymentRecord, call: SpeechCall) -> int:
    """Characters at the per-character rate (tts-1), else the text's tokens at the input token rate."""
    row = model_row(deployment.target.provider, deployment.target.model, deployment.model_info)
    per_character = rate(row, "input_cost_per_character")
    if per_character is not None:
        return nanos(per_character * len(call.input))
    per_token = rate(row, "input_cost_per_token")
    if per_token is None:
        per_token = deployment_price(deployment).input_cost_per_token
    return nanos(per_token * math.ceil(speech_characters(call) / CHARS_PER_TOKEN))


def speech_characters(call: SpeechCall) -> int:
    return len(call.input) + len(str(call.params.get("instructions") or ""))


def speech_worst_case(deployment: DeploymentRecord, call: SpeechCall) -> int:
    """The most the speech may cost: its input, plus (where the model bills audio output by the token, as Gemini's
    TTS does) the most audio tokens its text can take."""
    row = model_row(deployment.target.provider, deployment.target.model, deployment.model_info)
    audio_rate = rate(row, "output_cost_per_audio_token")
    audio_bound = audio_rate * speech_characters(call) * AUDIO_TOKENS_PER_CHARACTER if audio_rate else Decimal(0)
    return speech_cost(deployment, call) + nanos(audio_bound)


def speech_usage_cost(deployment: DeploymentRecord, reported: SpeechUsage) -> int | None:
    """The bill from the usage a speech stream reported (Gemini TTS): text tokens in at the input rate, audio
    tokens out at the audio output rate, any text out at the output rate. None when nothing was reported or the
    model has no output token price (then the character estimate stands)."""
    usage = reported.usage
    row = model_row(deployment.target.provider, deployment.target.model, deployment.model_info)
    audio_rate = rate(row, "output_cost_per_audio_token") or rate(row, "output_cost_per_token")
    if usage is None or audio_rate is None:
        return None
    return nanos((rate(row, "input_cost_per_token") or Decimal(0)) * usage.prompt_tokens
                 + audio_rate * reported.audio_tokens
                 + (rate(row, "output_cost_per_token") or Decimal(0)) * (usage.completion_tokens - reported.audio_tokens))
