"""Images and audio through the gateway process with the official `openai` SDK: OpenAI's, Azure's and Groq's wire
formats upstream (multipart uploads streamed from the spool), billed per image, per second and per character."""
from __future__ import annotations

import base64
import time
from decimal import Decimal

import openai
import pytest

from tests.conftest import GatewayProcess
from tests.e2e.media_fixtures import media, media_server, wav  # noqa: F401 - fixtures
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.openai_media import Gate, OpenAIMediaUpstream, fields_of, parts, speech_audio


def test_generation_answers_b64_json_and_is_billed_per_image_by_size_and_quality(
        media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    answer = sdk.images.with_raw_response.generate(model="dalle", prompt="a red fox", n=2, size="1024x1792",
                                                   quality="hd", response_format="b64_json")
    images = answer.parse()
    assert [base64.b64decode(item.b64_json or "") for item in images.data] == [b"png:a red fox:0", b"png:a red fox:1"]
    [seen] = media.requests
    assert (seen.path, seen.headers["authorization"]) == ("/v1/images/generations", "Bearer sk-openai-secret")
    assert seen.json() == {"model": "dall-e-3", "prompt": "a red fox", "n": 2, "size": "1024x1792", "quality": "hd",
                           "response_format": "b64_json"}
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    per_image = Decimal("6.539e-08") * 1024 * 1792  # hd/1024-x-1792/dall-e-3, per pixel as LiteLLM lists it
    assert (row.call_type, row.provider, row.model_alias, row.status) == (
        "image_generation", "openai", "dalle", "success")
    assert row.cost == (per_image * 2).quantize(Decimal("1e-9"), rounding="ROUND_UP")


def test_generation_answers_urls_on_azure_paths(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    images = sdk.images.generate(model="azure-dalle", prompt="a lighthouse", response_format="url")
    assert [(item.url, item.revised_prompt) for item in images.data] == [
        ("https://images.example/0.png", "a lighthouse")]
    [seen] = media.requests
    assert (seen.path, seen.query, seen.headers["api-key"]) == (
        "/openai/deployments/dall-e-3/images/generations", {"api-version": ["2024-10-21"]}, "sk-azure-secret")


def test_gpt_image_is_billed_on_its_token_usage(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    answer = sdk.images.with_raw_response.generate(model="gpt-image", prompt="a cat", quality="high")
    assert answer.parse().usage is not None
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.prompt_tokens, row.completion_tokens) == (20, 4160)
    assert row.cost == Decimal("5e-06") * 20 + Decimal("4e-05") * 4160


def test_edit_uploads_the_image_and_mask_as_multipart(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    picture, mask = b"\x89PNG" + b"p" * 70_000, b"\x89PNG" + b"m" * 500
    answer = sdk.images.with_raw_response.edit(model="dalle", prompt="add a hat", image=("fox.png", picture, "image/png"),
                                               mask=("mask.png", mask, "image/png"), response_format="b64_json")
    [item] = answer.parse().data
    assert base64.b64decode(item.b64_json or "") == f"png:add a hat|fox.png:{len(picture)}|mask:{len(mask)}:0".encode()
    [seen] = media.requests
    assert seen.path == "/v1/images/edits"
    assert int(seen.headers["content-length"]) == len(seen.body)
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.call_type, row.cost) == ("image_edit", (Decimal("3.81469e-08") * 1024 * 1024).quantize(
        Decimal("1e-9"), rounding="ROUND_UP"))


@pytest.mark.parametrize(("response_format", "expected"), [
    pytest.param("text", "heard speech.wav 40044\n", id="text_case"),
    pytest.param("srt", "1\n00:00:00,000 --> 00:00:02,500\nheard speech.wav 40044\n\n", id="srt_case"),
    pytest.param("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nheard speech.wav 40044\n\n", id="vtt_case"),
])
def test_transcription_text_formats_pass_through(media: OpenAIMediaUpstream, sdk: openai.OpenAI,
                                                 response_format: str, expected: str) -> None:
    text = sdk.audio.transcriptions.create(model="whisper", file=("speech.wav", wav(2.5), "audio/wav"),
                                           response_format=response_format)  # type: ignore[call-overload]
    assert text == expected


def test_transcription_uploads_the_file_and_bills_its_seconds(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    audio = wav(2.5)
    answer = sdk.audio.transcriptions.with_raw_response.create(
        model="whisper", file=("speech.wav", audio, "audio/wav"), language="en", temperature=0.2,
        prompt="Names: Tollgate.", response_format="verbose_json", timestamp_granularities=["word", "segment"])
    transcript = answer.parse()
    assert (transcript.text, transcript.duration) == ("heard speech.wav 40044", 2.5)  # type: ignore[union-attr]
    [seen] = media.requests
    assert int(seen.headers["content-length"]) == len(seen.body)
    assert fields_of(parts(seen)) == {"model": ["whisper-1"], "language": ["en"], "temperature": ["0.2"],
                                      "prompt": ["Names: Tollgate."], "response_format": ["verbose_json"],
                                      "timestamp_granularities[]": ["word", "segment"]}
    [upload] = [part for part in parts(seen) if part.name == "file"]
    assert (upload.filename, upload.content_type, upload.data) == ("speech.wav", "audio/wav", audio)
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.call_type, row.cost) == ("audio_transcription", Decimal("0.0001") * Decimal("2.5"))


def test_json_transcript_is_billed_on_the_seconds_the_upstream_reports(media: OpenAIMediaUpstream,
                                                                        sdk: openai.OpenAI) -> None:
    answer = sdk.audio.transcriptions.with_raw_response.create(model="whisper", file=("a.wav", wav(3.2), "audio/wav"))
    assert answer.parse().text == "heard a.wav 51244"
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert row.cost == Decimal("0.0003")  # the upstream's `usage.seconds` (3), not the file's 3.2


def test_token_billed_transcription_is_priced_per_audio_token(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    answer = sdk.audio.transcriptions.with_raw_response.create(model="transcribe-4o", file=("a.wav", wav(1), "audio/wav"))
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.prompt_tokens, row.completion_tokens) == (120, 30)
    assert row.cost == Decimal("6e-06") * 100 + Decimal("2.5e-06") * 20 + Decimal("1e-05") * 30


@pytest.mark.parametrize(("model", "path", "auth"), [
    pytest.param("azure-whisper", "/openai/deployments/whisper-1/audio/translations", ("api-key", "sk-azure-secret"),
                 id="azure_case"),
    pytest.param("groq-whisper", "/openai/v1/audio/translations", ("authorization", "Bearer sk-groq-secret"),
                 id="groq_case"),
])
def test_translation_reaches_each_provider_path(media: OpenAIMediaUpstream, sdk: openai.OpenAI, model: str,
                                                path: str, auth: tuple[str, str]) -> None:
    audio = wav(1)
    translated = sdk.audio.translations.create(model=model, file=("talk.wav", audio, "audio/wav"),
                                               prompt="A talk.", temperature=0.3, response_format="json")
    assert translated.text == "translated talk.wav 16044"
    [seen] = media.requests
    assert (seen.path, seen.headers[auth[0]]) == (path, auth[1])
    provider_model = {"azure-whisper": "whisper-1", "groq-whisper": "whisper-large-v3"}[model]
    assert fields_of(parts(seen)) == {"model": [provider_model], "prompt": ["A talk."], "temperature": ["0.3"],
                                      "response_format": ["json"]}
    [upload] = [part for part in parts(seen) if part.name == "file"]
    assert (upload.filename, upload.data) == ("talk.wav", audio)


def test_azure_image_edits_go_to_the_deployment_path(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    picture = b"\x89PNG" + b"p" * 2_000
    edited = sdk.images.edit(model="azure-dalle", prompt="add a hat", image=("fox.png", picture, "image/png"),
                             response_format="url")
    assert [item.url for item in edited.data or []] == ["https://images.example/0.png"]
    [seen] = media.requests
    assert (seen.path, seen.query, seen.headers["api-key"]) == (
        "/openai/deployments/dall-e-3/images/edits", {"api-version": ["2024-10-21"]}, "sk-azure-secret")
    assert "authorization" not in seen.headers
    assert fields_of(parts(seen)) == {"model": ["dall-e-3"], "prompt": ["add a hat"], "response_format": ["url"]}
    [image] = [part for part in parts(seen) if part.name == "image"]
    assert (image.filename, image.content_type, image.data) == ("fox.png", "image/png", picture)


def test_speech_streams_back_as_the_upstream_sends_it(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    media.gate = gate = Gate()
    with sdk.audio.speech.with_streaming_response.create(model="tts", voice="alloy", input="hello there") as answer:
        assert answer.headers["content-type"] == "audio/mpeg"
        pieces = answer.iter_bytes()
        first = next(pieces)
        deadline = time.monotonic() + 5  # the mock counts a piece just after writing it: the client can be first
        while media.pieces_sent < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert media.pieces_sent == 1 and not gate.opened.is_set()  # it came while the upstream held the rest
        gate.opened.set()
        audio = first + b"".join(pieces)
        request_id = answer.headers["x-request-id"]
    assert audio == b"".join(speech_audio("hello there"))
    [seen] = media.requests
    assert seen.json() == {"model": "tts-1", "input": "hello there", "voice": "alloy"}
    [row] = wait_for_spend_rows(1, request_id=request_id)
    assert (row.call_type, row.cost, row.status) == ("audio_speech", Decimal("1.5e-05") * 11, "success")


def test_speech_on_azure(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    audio = sdk.audio.speech.create(model="azure-tts", voice="nova", input="hi", response_format="wav")
    assert audio.content == b"".join(speech_audio("hi"))
    [seen] = media.requests
    assert (seen.path, seen.json()["response_format"]) == ("/openai/deployments/tts-1/audio/speech", "wav")


def test_hanging_up_on_speech_closes_the_upstream_stream(media: OpenAIMediaUpstream,
                                                          gateway: GatewayProcess) -> None:
    import httpx

    media.gate = Gate(timeout=1)
    with httpx.stream("POST", f"{gateway.url}/v1/audio/speech", json={"model": "tts", "input": "bye", "voice": "a"},
                      headers={"Authorization": "Bearer sk-test-master-0123456789"}, timeout=10) as answer:
        next(answer.iter_raw())
    assert media.hangup_event.wait(15)


def test_azure_clients_reach_images_and_audio_on_deployment_paths(media: OpenAIMediaUpstream,
                                                                  gateway: GatewayProcess) -> None:
    azure = openai.AzureOpenAI(azure_endpoint=gateway.url, api_key="sk-test-master-0123456789",
                               api_version="2024-10-21", max_retries=0)
    assert azure.images.generate(model="dalle", prompt="p").data[0].url == "https://images.example/0.png"
    assert azure.audio.transcriptions.create(model="whisper", file=("a.wav", wav(1), "audio/wav")).text == \
        "heard a.wav 16044"
    assert azure.audio.speech.create(model="tts", voice="alloy", input="yo").content == b"".join(speech_audio("yo"))
    assert [(r.path, r.headers["authorization"]) for r in media.requests] == [
        ("/v1/images/generations", "Bearer sk-openai-secret"), ("/v1/audio/transcriptions", "Bearer sk-openai-secret"),
        ("/v1/audio/speech", "Bearer sk-openai-secret")]


def test_gpt_image_edits_take_several_images(media: OpenAIMediaUpstream, sdk: openai.OpenAI) -> None:
    first, second = b"\x89PNG" + b"1" * 100, b"\x89PNG" + b"2" * 200
    images = sdk.images.edit(model="gpt-image", prompt="merge", image=[("a.png", first, "image/png"),
                                                                         ("b.png", second, "image/png")],
                             response_format="b64_json")
    assert base64.b64decode(images.data[0].b64_json or "") == b"png:merge|a.png:104+b.png:204:0"
    [seen] = media.requests
    assert seen.body.count(b'name="image[]"') == 2
