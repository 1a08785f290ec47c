"""Imagen and Gemini TTS through the gateway process with the official `openai` SDK, against the Gemini API and
Vertex AI mocks (`tests/upstreams/gemini.py`, `vertex_ai.py`): the exact request each gets, its auth (API key,
a static bearer token, a token minted from a service account), and the spend row each call leaves."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.gemini import SPEECH_PCM, GeminiUpstream
from tests.upstreams.vertex_ai import MINTED_TOKEN, STATIC_TOKEN, VertexUpstream

VERTEX_MODELS = "/v1/projects/acme-prod/locations/us-east5/publishers/google/models"
VERTEX_PARAMS = {"vertex_project": "acme-prod", "vertex_location": "us-east5"}


@pytest.fixture
def no_retries(transactional_db: None) -> None:
    from apps.routing.models import RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})


@pytest.fixture
def gemini(no_retries: None) -> Iterator[GeminiUpstream]:
    with GeminiUpstream() as upstream:
        for name, model in (("gemini-tts", "gemini-2.5-flash-preview-tts"), ("gemini-imagen", "imagen-4.0-generate-001")):
            google_deploy(name, "gemini", model, upstream.url, key=upstream.api_key)
        yield upstream
        assert upstream.failures == []


@pytest.fixture
def vertex(no_retries: None) -> Iterator[VertexUpstream]:
    with VertexUpstream() as upstream:
        for name, model in (("vertex-imagen", "imagen-3.0-generate-002"), ("vertex-tts", "gemini-2.5-pro-preview-tts")):
            google_deploy(name, "vertex_ai", model, upstream.url, key=STATIC_TOKEN, **VERTEX_PARAMS)
        yield upstream
        assert upstream.failures == []


def google_deploy(name: str, provider: str, model: str, api_base: str, *, key: str, **params: str) -> None:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment

    Deployment.objects.create(model_name=name, provider=provider, provider_model=model, api_base=api_base,
                              api_key_encrypted=encrypt(key) if key else "", timeout=10, litellm_params=params)


def decoded(images: Any) -> list[bytes]:
    return [base64.b64decode(item.b64_json or "") for item in images.data]


def test_vertex_imagen_is_predicted_with_the_bearer_token_and_billed_per_image(
        vertex: VertexUpstream, sdk: openai.OpenAI) -> None:
    answer = sdk.images.with_raw_response.generate(model="vertex-imagen", prompt="a lighthouse", n=3, size="1024x1792")
    assert decoded(answer.parse()) == [b"imagen:a lighthouse:0", b"imagen:a lighthouse:1", b"imagen:a lighthouse:2"]
    [seen] = vertex.requests
    assert (seen.path, seen.headers["authorization"]) == (
        f"{VERTEX_MODELS}/imagen-3.0-generate-002:predict", f"Bearer {STATIC_TOKEN}")
    assert "x-goog-api-key" not in seen.headers
    assert seen.json() == {"instances": [{"prompt": "a lighthouse"}],
                           "parameters": {"sampleCount": 3, "aspectRatio": "9:16"}}
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.provider, row.call_type, row.model_alias, row.status, row.cost) == (
        "vertex_ai", "image_generation", "vertex-imagen", "success", Decimal("0.04") * 3)


def test_vertex_imagen_with_a_service_account_mints_its_token_first(
        vertex: VertexUpstream, sdk: openai.OpenAI, tmp_path: Path) -> None:
    credentials = tmp_path / "sa.json"
    credentials.write_text(json.dumps(vertex.service_account()))
    # No token and no project: both come from the service account, read by the gateway process.
    google_deploy("vertex-imagen-sa", "vertex_ai", "imagen-3.0-generate-002", vertex.url, key="",
                  vertex_location="us-east5", vertex_credentials=str(credentials))
    answer = sdk.images.with_raw_response.generate(model="vertex-imagen-sa", prompt="a fox", n=1)
    assert decoded(answer.parse()) == [b"imagen:a fox:0"]
    token, seen = vertex.requests
    assert token.path == "/token"
    assert (seen.path, seen.headers["authorization"]) == (
        f"{VERTEX_MODELS}/imagen-3.0-generate-002:predict", f"Bearer {MINTED_TOKEN}")
    assert seen.json() == {"instances": [{"prompt": "a fox"}], "parameters": {"sampleCount": 1}}
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.provider, row.cost) == ("vertex_ai", Decimal("0.04"))


def test_gemini_api_imagen_sends_the_api_key_and_refuses_urls(gemini: GeminiUpstream, sdk: openai.OpenAI) -> None:
    answer = sdk.images.with_raw_response.generate(model="gemini-imagen", prompt="a boat", n=2, size="1024x1024",
                                                   response_format="b64_json")
    assert decoded(answer.parse()) == [b"imagen:a boat:0", b"imagen:a boat:1"]
    [seen] = gemini.requests
    assert (seen.path, seen.headers["x-goog-api-key"]) == (
        "/v1beta/models/imagen-4.0-generate-001:predict", gemini.api_key)
    assert seen.json() == {"instances": [{"prompt": "a boat"}], "parameters": {"sampleCount": 2, "aspectRatio": "1:1"}}
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.provider, row.cost) == ("gemini", Decimal("0.04") * 2)
    with pytest.raises(openai.BadRequestError) as error:
        sdk.images.generate(model="gemini-imagen", prompt="a boat", response_format="url")
    assert error.value.body["param"] == "response_format"  # type: ignore[index]
    assert len(gemini.requests) == 1


def test_gemini_speech_is_billed_on_its_reported_text_and_audio_tokens(
        gemini: GeminiUpstream, sdk: openai.OpenAI) -> None:
    from apps.providers.adapters.google_media import wav_header

    text = "Say cheerfully: have a wonderful day!"
    with sdk.audio.speech.with_streaming_response.create(model="gemini-tts", voice="Kore", input=text) as answer:
        assert answer.headers["content-type"] == "audio/wav"
        audio = answer.read()
    assert audio == wav_header() + b"".join(SPEECH_PCM)
    [seen] = gemini.requests
    assert (seen.path, seen.query, seen.headers["x-goog-api-key"]) == (
        "/v1beta/models/gemini-2.5-flash-preview-tts:streamGenerateContent", {"alt": ["sse"]}, gemini.api_key)
    assert seen.json() == {"contents": [{"role": "user", "parts": [{"text": text}]}], "generationConfig": {
        "responseModalities": ["AUDIO"], "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}}}}
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    # The mock's usageMetadata: 9 text tokens in, 52 audio tokens out, at $0.50 and $10 per million.
    assert (row.provider, row.call_type, row.status) == ("gemini", "audio_speech", "success")
    assert (row.prompt_tokens, row.completion_tokens) == (9, 52)
    assert row.cost == Decimal("5e-07") * 9 + Decimal("1e-05") * 52


def test_vertex_speech_is_billed_at_the_pro_tts_prices(vertex: VertexUpstream, sdk: openai.OpenAI) -> None:
    with sdk.audio.speech.with_streaming_response.create(model="vertex-tts", voice="Puck", input="Hello",
                                                         response_format="pcm") as answer:
        audio = answer.read()
    assert audio == b"".join(SPEECH_PCM)
    [seen] = vertex.requests
    assert (seen.path, seen.headers["authorization"]) == (
        f"{VERTEX_MODELS}/gemini-2.5-pro-preview-tts:streamGenerateContent", f"Bearer {STATIC_TOKEN}")
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.provider, row.prompt_tokens, row.completion_tokens) == ("vertex_ai", 9, 52)
    assert row.cost == Decimal("1e-06") * 9 + Decimal("2e-05") * 52
