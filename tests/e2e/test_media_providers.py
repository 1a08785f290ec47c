"""Images and audio on the providers that do not speak OpenAI's wire format: Deepgram, Gemini and Vertex Imagen,
Bedrock (Stability, Titan), each through the gateway process with the official `openai` SDK."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import openai
import pytest

from tests.e2e.media_fixtures import deploy, wav
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams import bedrock, deepgram
from tests.upstreams.recording import Recorded, RecordingServer, Reply


@pytest.fixture
def deepgram_upstream(transactional_db: None) -> Iterator[deepgram.DeepgramUpstream]:
    from apps.core.secrets import encrypt
    from apps.routing.models import RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    with deepgram.DeepgramUpstream() as upstream:
        made = deploy("nova", "deepgram", "nova-2", upstream.url)
        made.api_key_encrypted = encrypt(deepgram.API_KEY)
        made.save()
        yield upstream
        assert upstream.failures == []


def test_deepgram_gets_the_raw_audio_and_answers_openai_json(deepgram_upstream: deepgram.DeepgramUpstream,
                                                             sdk: openai.OpenAI) -> None:
    audio = wav(2)
    answer = sdk.audio.transcriptions.with_raw_response.create(model="nova", file=("a.wav", audio, "audio/wav"),
                                                               language="en")
    assert answer.parse().text == f"deepgram heard {len(audio)} bytes"
    [seen] = deepgram_upstream.requests
    assert seen.body == audio
    assert seen.query == {"model": ["nova-2"], "smart_format": ["true"], "punctuate": ["true"], "language": ["en"]}
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.provider, row.call_type, row.cost) == ("deepgram", "audio_transcription",
                                                       Decimal("7.167e-05") * 2)


def test_deepgram_utterances_become_srt_and_verbose_json(deepgram_upstream: deepgram.DeepgramUpstream,
                                                         sdk: openai.OpenAI) -> None:
    srt = sdk.audio.transcriptions.create(model="nova", file=("a.wav", wav(2), "audio/wav"), response_format="srt")
    assert srt == "1\n00:00:00,000 --> 00:00:01,000\ndeepgram\n\n2\n00:00:01,000 --> 00:00:02,000\nheard\n\n"
    verbose = sdk.audio.transcriptions.create(model="nova", file=("a.wav", wav(2), "audio/wav"),
                                              response_format="verbose_json")
    assert (verbose.duration, [s.text for s in verbose.segments or []]) == (2.0, ["deepgram", "heard"])


def test_a_parameter_deepgram_lacks_is_refused(deepgram_upstream: deepgram.DeepgramUpstream,
                                               http: httpx.Client) -> None:
    answer = http.post("/v1/audio/transcriptions", data={"model": "nova", "prompt": "names: Ada"},
                       files={"file": ("a.wav", wav(1), "audio/wav")})
    assert answer.status_code == 400
    assert (answer.json()["error"]["param"], answer.json()["error"]["code"]) == ("prompt", "unsupported_parameter")
    translated = http.post("/v1/audio/translations", data={"model": "nova"},
                           files={"file": ("a.wav", wav(1), "audio/wav")})
    assert translated.status_code == 400 and translated.json()["error"]["param"] == "model"
    assert deepgram_upstream.requests == []


def imagen_twin(request: Recorded) -> Reply:
    """Imagen's `:predict` on the Gemini API: one base64 image per `sampleCount`."""
    assert request.headers.get("x-goog-api-key") == "sk-gemini-secret", "no API key"
    body = request.json()
    [instance] = body["instances"]
    images = [{"bytesBase64Encoded": base64.b64encode(f"imagen:{instance['prompt']}:{i}".encode()).decode(),
               "mimeType": "image/png"} for i in range(body["parameters"]["sampleCount"])]
    return Reply.json(200, {"predictions": images})


def test_gemini_imagen_answers_b64_and_is_billed_per_image(transactional_db: None, sdk: openai.OpenAI) -> None:
    from apps.routing.models import RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    with RecordingServer(imagen_twin) as twin:
        deploy("imagen", "gemini", "imagen-3.0-generate-002", twin.url)
        answer = sdk.images.with_raw_response.generate(model="imagen", prompt="a boat", n=2, size="1792x1024",
                                                       response_format="b64_json")
        assert [base64.b64decode(item.b64_json or "") for item in answer.parse().data] == [
            b"imagen:a boat:0", b"imagen:a boat:1"]
        [seen] = twin.requests
        assert (seen.path, seen.json()) == ("/v1beta/models/imagen-3.0-generate-002:predict", {
            "instances": [{"prompt": "a boat"}], "parameters": {"sampleCount": 2, "aspectRatio": "16:9"}})
        [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
        assert (row.provider, row.cost) == ("gemini", Decimal("0.08"))
        refused = sdk.images.with_raw_response.generate  # url is a format Imagen lacks
        with pytest.raises(openai.BadRequestError) as error:
            refused(model="imagen", prompt="a boat", response_format="url")
        assert error.value.body["param"] == "response_format"  # type: ignore[index]
        assert twin.failures == [] and len(twin.requests) == 1


def bedrock_images_twin(url: list[str]) -> Any:
    def respond(request: Recorded) -> Reply:
        bedrock.check_signed(request, url[0])
        body = request.json()
        if "textToImageParams" in body:
            count = body["imageGenerationConfig"]["numberOfImages"]
            return Reply.json(200, {"images": [base64.b64encode(f"titan:{i}".encode()).decode()
                                               for i in range(count)], "error": None})
        return Reply.json(200, {"images": [base64.b64encode(f"sd:{body['prompt']}".encode()).decode()],
                                "finish_reasons": [None], "seeds": [7]})
    return respond


@pytest.mark.parametrize(("model", "body", "images", "cost"), [
    pytest.param("amazon.titan-image-generator-v2:0", {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "hills"},
                 "imageGenerationConfig": {"numberOfImages": 2, "width": 1024, "height": 1024,
                                           "quality": "premium"}}, [b"titan:0", b"titan:1"], Decimal("0.02"),
                 id="titan_case"),
    pytest.param("stability.stable-image-core-v1:0", {"prompt": "hills", "output_format": "png"}, [b"sd:hills"],
                 Decimal("0.04"), id="stability_case"),
])
def test_bedrock_image_models_are_invoked_signed(transactional_db: None, sdk: openai.OpenAI, model: str,
                                                 body: dict[str, Any], images: list[bytes], cost: Decimal) -> None:
    from apps.routing.models import RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    url: list[str] = []
    with RecordingServer(bedrock_images_twin(url)) as twin:
        url.append(twin.url)
        deploy("bedrock-image", "bedrock", model, twin.url, litellm_params={
            "aws_access_key_id": bedrock.ACCESS_KEY, "aws_secret_access_key": bedrock.SECRET_KEY,
            "aws_region_name": "us-east-1", "aws_signing_time": bedrock.SIGNING_TIME})
        n = len(images)
        answer = sdk.images.with_raw_response.generate(model="bedrock-image", prompt="hills", n=n,
                                                       quality="hd" if n > 1 else openai.NOT_GIVEN,
                                                       response_format="b64_json")
        assert [base64.b64decode(item.b64_json or "") for item in answer.parse().data] == images
        [seen] = twin.requests
        assert (seen.path, seen.json()) == (f"/model/{quote(model, safe='')}/invoke", body)
        [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
        assert (row.provider, row.cost) == ("bedrock", cost)
        assert twin.failures == []


PCM = [b"\x01\x00" * 2400, b"\x02\x00" * 2400]  # two 0.1 s chunks of 24 kHz 16-bit PCM


def gemini_tts_twin(request: Recorded) -> Reply:
    """A Gemini TTS model's `:streamGenerateContent?alt=sse`: one event per PCM chunk, usage in the last."""
    assert request.headers.get("x-goog-api-key") == "sk-gemini-secret", "no API key"
    assert request.query == {"alt": ["sse"]}
    events = [{"candidates": [{"content": {"role": "model", "parts": [{"inlineData": {
        "mimeType": "audio/L16;codec=pcm;rate=24000", "data": base64.b64encode(chunk).decode()}}]}}]}
        for chunk in PCM]
    events[-1]["usageMetadata"] = {"promptTokenCount": 4, "candidatesTokenCount": 10, "totalTokenCount": 14}
    return Reply.stream([b"data: " + json.dumps(event).encode() + b"\r\n\r\n" for event in events])


def test_gemini_speech_streams_wav_from_its_pcm(transactional_db: None, sdk: openai.OpenAI) -> None:
    from apps.providers.adapters.google_media import wav_header
    from apps.routing.models import RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    with RecordingServer(gemini_tts_twin) as twin:
        deploy("gemini-tts", "gemini", "gemini-2.5-flash-preview-tts", twin.url)
        with sdk.audio.speech.with_streaming_response.create(model="gemini-tts", voice="Kore", input="Say hi") as answer:
            assert answer.headers["content-type"] == "audio/wav"
            audio = answer.read()
        assert audio == wav_header() + b"".join(PCM)
        [seen] = twin.requests
        assert (seen.path, seen.json()) == ("/v1beta/models/gemini-2.5-flash-preview-tts:streamGenerateContent", {
            "contents": [{"role": "user", "parts": [{"text": "Say hi"}]}],
            "generationConfig": {"responseModalities": ["AUDIO"], "speechConfig": {
                "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}}}})
        refused = sdk.audio.speech.with_raw_response.create
        with pytest.raises(openai.BadRequestError) as error:
            refused(model="gemini-tts", voice="Kore", input="hi", response_format="mp3")
        assert error.value.body["param"] == "response_format"  # type: ignore[index]
        assert twin.failures == []
