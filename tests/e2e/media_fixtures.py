"""The OpenAI-format images and audio twin, deployed under OpenAI, Azure and Groq names, and WAV files to upload."""
from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from typing import Any

import pytest

from apps.core.secrets import encrypt
from apps.routing.models import Deployment, RouterSettings
from tests.upstreams.openai_media import OpenAIMediaUpstream


def wav(seconds: float, rate: int = 8000) -> bytes:
    """A silent 16-bit mono WAV of `seconds`."""
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


def deploy(name: str, provider: str, model: str, api_base: str, **fields: Any) -> Deployment:
    return Deployment.objects.create(model_name=name, provider=provider, provider_model=model, api_base=api_base,
                                     api_key_encrypted=encrypt(f"sk-{provider}-secret"), timeout=10, **fields)


@pytest.fixture(scope="module")
def media_server() -> Iterator[OpenAIMediaUpstream]:
    with OpenAIMediaUpstream() as server:
        yield server


@pytest.fixture
def media(transactional_db: None, media_server: OpenAIMediaUpstream) -> Iterator[OpenAIMediaUpstream]:
    """dall-e-3, gpt-image-1, whisper-1, tts-1 on OpenAI; the same names on Azure; Whisper on Groq; a chat model."""
    media_server.reset()
    media_server.gate = None
    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    base = f"{media_server.url}/v1"
    for name, model in [("dalle", "dall-e-3"), ("gpt-image", "gpt-image-1"), ("whisper", "whisper-1"),
                        ("tts", "tts-1"), ("transcribe-4o", "gpt-4o-transcribe")]:
        deploy(name, "openai", model, base)
    deploy("chat", "openai", "gpt-4o", base, model_info={"mode": "chat"})
    for name, model in [("azure-dalle", "dall-e-3"), ("azure-whisper", "whisper-1"), ("azure-tts", "tts-1")]:
        deploy(name, "azure", model, media_server.url, api_version="2024-10-21")
    deploy("groq-whisper", "groq", "whisper-large-v3", f"{media_server.url}/openai/v1")
    yield media_server
    assert media_server.failures == []
