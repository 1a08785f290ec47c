"""Images and audio on the providers that do not speak OpenAI's wire format: Deepgram, Gemini and Vertex Imagen,
Bedrock (Stability, Titan), each through the gateway process with the official `openai` SDK."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import openai
import pytest

from tests.e2e.media_fixtures import deploy, wav
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams import deepgram


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
