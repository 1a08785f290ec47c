"""Image and audio values without HTTP: list prices by size and quality, upload bodies, durations, Deepgram's
subtitles."""
from __future__ import annotations

import io
import tempfile
import wave
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from apps.core.uploads import UploadedFile
from apps.providers.adapters.deepgram import cues, subtitles
from apps.providers.adapters.google_media import aspect_ratio
from apps.providers.audio import file_seconds, subtitle_seconds
from apps.providers.media_pricing import image_price
from apps.providers.upload_body import MultipartBody


def upload(data: bytes, name: str = "a.wav", kind: str = "audio/wav") -> UploadedFile:
    spool = tempfile.SpooledTemporaryFile(max_size=1024)
    spool.write(data)
    return UploadedFile(field="file", filename=name, content_type=kind, spool=spool, size=len(data))


@pytest.mark.parametrize(("provider", "model", "size", "quality", "price"), [
    pytest.param("openai", "dall-e-3", "1024x1024", "standard", Decimal("3.81469e-08") * 1024 * 1024,
                 id="dalle3_standard_case"),
    pytest.param("openai", "dall-e-3", "1792x1024", "hd", Decimal("6.539e-08") * 1792 * 1024, id="dalle3_hd_case"),
    pytest.param("openai", "dall-e-2", "256x256", "", Decimal("2.4414e-07") * 256 * 256, id="dalle2_case"),
    pytest.param("openai", "gpt-image-1", "1536x1024", "high", Decimal("0.25"), id="gpt_image_case"),
    pytest.param("azure", "dall-e-3", "1024x1024", "hd", Decimal("7.629e-08") * 1024 * 1024, id="azure_case"),
    pytest.param("vertex_ai", "imagen-3.0-generate-002", "1024x1024", "", Decimal("0.04"), id="vertex_case"),
    pytest.param("bedrock", "amazon.titan-image-generator-v2:0", "1024x1024", "premium", Decimal("0.01"),
                 id="titan_premium_case"),
    pytest.param("bedrock", "stability.stable-diffusion-xl-v1", "1024x1024", "", Decimal("0.04"), id="sdxl_case"),
])
def test_image_list_prices_follow_litellms_keys(provider: str, model: str, size: str, quality: str,
                                                price: Decimal) -> None:
    assert image_price(provider, model, size=size, quality=quality, model_info={}) == price


def test_model_info_prices_an_image_over_the_table() -> None:
    assert image_price("openai", "dall-e-3", size="1024x1024", quality="hd",
                       model_info={"output_cost_per_image": 0.5}) == Decimal("0.5")
    assert image_price("openai", "unknown-image-model", size="1024x1024", quality="", model_info={}) is None


async def test_a_multipart_body_is_as_long_as_it_says_and_parses_back() -> None:
    audio = bytes(range(256)) * 20
    body = MultipartBody([("model", "whisper-1"), ('we"ird', "a\r\nb")], [("file", upload(audio, 'sp"ace.wav'))])
    sent = b"".join([piece async for piece in body.pieces()])
    assert len(sent) == body.length
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {body.content_type}\r\n\r\n".encode() + sent)
    parts = list(message.iter_parts())  # type: ignore[attr-defined]
    assert [part.get_payload(decode=True) for part in parts] == [b"whisper-1", b"a\r\nb", audio]
    assert parts[2].get_filename() == "sp%22ace.wav"
    assert b"".join([piece async for piece in body.pieces()]) == sent  # again, for a retry


def test_a_wav_upload_knows_its_length() -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(16000)
        audio.writeframes(b"\0\0" * 16000 * 3)
    assert file_seconds(upload(out.getvalue())) == 3.0
    assert file_seconds(upload(b"not audio at all", "a.mp3", "audio/mpeg")) is None


def test_subtitles_give_their_last_cue_end() -> None:
    assert subtitle_seconds("1\n00:00:00,000 --> 00:01:02,500\nhi\n") == 62.5
    assert subtitle_seconds("WEBVTT\n\n00:00.000 --> 01:00:01.250\nhi\n") == 3601.25
    assert subtitle_seconds("no cues") is None


def test_deepgram_utterances_render_as_vtt() -> None:
    found = cues({"utterances": [{"start": 0.5, "end": 1.25, "transcript": "hello"}]}, "hello", 2.0)
    assert subtitles(found, "vtt") == "WEBVTT\n\n00:00:00.500 --> 00:00:01.250\nhello\n\n"
    assert subtitles(cues({}, "all", 2.0), "srt") == "1\n00:00:00,000 --> 00:00:02,000\nall\n\n"


@pytest.mark.parametrize(("size", "ratio"), [("1024x1024", "1:1"), ("1792x1024", "16:9"), ("1024x1536", "3:4"),
                                             ("wide", None)])
def test_sizes_map_to_imagens_nearest_aspect_ratio(size: str, ratio: str | None) -> None:
    assert aspect_ratio(size) == ratio


def test_vertex_imagen_is_predicted_on_the_projects_model_path() -> None:
    from apps.providers.adapters.vertex_ai import VertexAIAdapter
    from apps.providers.base import Target
    from apps.providers.images import ImageCall

    target = Target(provider="vertex_ai", model="imagen-3.0-generate-002", api_key="ya29.token",
                    extra={"vertex_project": "acme", "vertex_location": "us-central1"})
    request = VertexAIAdapter().translate_image_request(ImageCall(model="imagen", prompt="a fox", n=3), target)
    assert request.url == ("https://us-central1-aiplatform.googleapis.com/v1/projects/acme/locations/us-central1/"
                           "publishers/google/models/imagen-3.0-generate-002:predict")
    assert request.headers["Authorization"] == "Bearer ya29.token"
    assert request.body == b'{"instances":[{"prompt":"a fox"}],"parameters":{"sampleCount":3}}'
