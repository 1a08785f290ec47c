"""Speech pricing without HTTP: Gemini TTS billed on the tokens its stream reports (text in, audio out), the
reservation bounding the audio the text can take, and the per-character models unchanged."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.providers.adapters.google_media import speech_usage
from apps.providers.audio import SpeechCall, SpeechUsage
from apps.providers.base import Target, Usage
from apps.routing.media_costs import speech_cost, speech_usage_cost, speech_worst_case
from apps.routing.snapshot import DeploymentRecord
from apps.teams.costing import to_nanos


def deployment(provider: str, model: str, **model_info: object) -> DeploymentRecord:
    return DeploymentRecord(id="1", model_name="speech", target=Target(provider=provider, model=model),
                            model_info=dict(model_info))


def test_a_tts_answers_usage_splits_text_in_from_audio_out() -> None:
    reported = speech_usage({"promptTokenCount": 9, "candidatesTokenCount": 60, "totalTokenCount": 69,
                             "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 52},
                                                         {"modality": "TEXT", "tokenCount": 8}]})
    assert reported == SpeechUsage(usage=Usage(prompt_tokens=9, completion_tokens=60), audio_tokens=52)
    # No breakdown: a TTS model's output is all audio.
    assert speech_usage({"promptTokenCount": 4, "candidatesTokenCount": 10}).audio_tokens == 10


@pytest.mark.parametrize(("provider", "model", "text_in", "audio_out"), [
    pytest.param("gemini", "gemini-2.5-flash-preview-tts", Decimal("5e-07"), Decimal("1e-05"), id="flash_case"),
    pytest.param("gemini", "gemini-2.5-pro-preview-tts", Decimal("1e-06"), Decimal("2e-05"), id="pro_case"),
    pytest.param("vertex_ai", "gemini-2.5-flash-preview-tts", Decimal("5e-07"), Decimal("1e-05"), id="vertex_case"),
])
def test_reported_tokens_are_billed_at_the_text_and_audio_rates(provider: str, model: str, text_in: Decimal,
                                                                audio_out: Decimal) -> None:
    reported = SpeechUsage(usage=Usage(prompt_tokens=9, completion_tokens=60), audio_tokens=52)
    # The 8 text tokens out are billed at the output token rate, which Google lists at the audio one.
    assert speech_usage_cost(deployment(provider, model), reported) == to_nanos(
        text_in * 9 + audio_out * 52 + audio_out * 8, up=True)


def test_model_info_prices_win_over_the_table() -> None:
    priced = deployment("gemini", "gemini-2.5-flash-preview-tts", input_cost_per_token=1e-06,
                        output_cost_per_audio_token=3e-05)
    reported = SpeechUsage(usage=Usage(prompt_tokens=10, completion_tokens=100), audio_tokens=100)
    assert speech_usage_cost(priced, reported) == to_nanos(Decimal("1e-06") * 10 + Decimal("3e-05") * 100, up=True)


def test_without_reported_usage_or_token_prices_the_text_estimate_stands() -> None:
    reported = SpeechUsage(usage=Usage(prompt_tokens=9, completion_tokens=52), audio_tokens=52)
    assert speech_usage_cost(deployment("gemini", "gemini-2.5-flash-preview-tts"), SpeechUsage()) is None
    assert speech_usage_cost(deployment("openai", "tts-1"), reported) is None
    call = SpeechCall(model="speech", input="x" * 100)
    assert speech_cost(deployment("openai", "tts-1"), call) == to_nanos(Decimal("1.5e-05") * 100, up=True)
    assert speech_worst_case(deployment("openai", "tts-1"), call) == speech_cost(deployment("openai", "tts-1"), call)


def test_the_reservation_bounds_the_audio_the_text_can_take() -> None:
    tts = deployment("gemini", "gemini-2.5-flash-preview-tts")
    call = SpeechCall(model="speech", input="x" * 90, params={"instructions": "y" * 10})
    text_tokens = 25  # 100 characters at 4 a token
    assert speech_cost(tts, call) == to_nanos(Decimal("5e-07") * text_tokens, up=True)
    assert speech_worst_case(tts, call) == speech_cost(tts, call) + to_nanos(Decimal("1e-05") * 100 * 4, up=True)
    # The mock's answer (9 in, 52 audio out) for 37 characters stays under its reservation.
    short = SpeechCall(model="speech", input="Say cheerfully: have a wonderful day!")
    reported = SpeechUsage(usage=Usage(prompt_tokens=9, completion_tokens=52), audio_tokens=52)
    assert speech_usage_cost(tts, reported) <= speech_worst_case(tts, short)  # type: ignore[operator]
