"""Audio (OpenAI's `/v1/audio/*` shapes): transcriptions and translations of an upload, and speech.

Transcription adapters have `translate_transcription` (an upload request) and `parse_transcription`; speech
adapters `translate_speech` (a request whose answer is streamed back) and, where the upstream's stream is not
the audio itself, `speech_pieces` turning its frames into audio bytes.
"""
from __future__ import annotations

import re
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from apps.core.errors import InvalidRequest
from apps.core.uploads import UploadedFile
from apps.providers.base import ProviderAdapter, Target, UpstreamRequest, Usage
from apps.providers.upload_body import UploadRequest

AudioTask = Literal["transcription", "translation"]
TEXT_FORMATS = {"text": "text/plain; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
                "vtt": "text/vtt; charset=utf-8"}
RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
                "wav": "audio/wav", "pcm": "audio/pcm"}
TIMESTAMP = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3})")


@dataclass(frozen=True, slots=True)
class TranscriptionCall:
    """One transcription (or translation into English) of `file`; `params` are the other form fields as sent."""

    model: str
    file: UploadedFile
    task: AudioTask = "transcription"
    response_format: str = "json"
    params: Mapping[str, list[str]] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else None


@dataclass(frozen=True, slots=True)
class Transcript:
    """The answer as the client gets it (JSON or text), and what it is billed on."""

    body: bytes
    content_type: str
    seconds: float | None = None  # as the upstream reported it
    usage: Usage | None = None  # token-billed models (gpt-4o-transcribe)
    audio_tokens: int = 0


@dataclass(frozen=True, slots=True)
class SpeechCall:
    """One text-to-speech request; `params` holds voice options the gateway passes on (instructions, speed...)."""

    model: str
    input: str
    voice: Any = None
    response_format: str = ""  # "" when not given: the provider's default (OpenAI's is mp3)
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return SPEECH_TYPES.get(self.response_format or "mp3", "application/octet-stream")


@dataclass(slots=True)
class SpeechUsage:
    """What a speech stream reported it used, filled in as its frames arrive (Gemini's `usageMetadata`); stays
    `None` for upstreams whose answer is the audio itself."""

    usage: Usage | None = None
    audio_tokens: int = 0  # of usage.completion_tokens, the audio ones


class TranscriptionAdapter(ProviderAdapter, Protocol):
    def translate_transcription(self, call: TranscriptionCall, target: Target) -> UploadRequest: ...

    def parse_transcription(self, status: int, headers: Mapping[str, str], body: bytes,
                            call: TranscriptionCall) -> Transcript: ...


class SpeechAdapter(ProviderAdapter, Protocol):
    def translate_speech(self, call: SpeechCall, target: Target) -> UpstreamRequest: ...


class AudioNotSupported(InvalidRequest):
    code = "unsupported_operation"


def audio_adapter(adapter: ProviderAdapter, model: str, feature: str) -> Any:
    """The adapter when it has `feature` (transcription, translation, speech), else a 400 naming the model."""
    if not adapter.supports(feature):  # type: ignore[arg-type]
        raise AudioNotSupported(f"The model `{model}` is served by provider {adapter.prefix!r}, which has no audio "
                                f"{feature} API.", param="model")
    return adapter


def file_seconds(upload: UploadedFile) -> float | None:
    """The audio's length from the file's own header (WAV by the standard library, the rest by mutagen)."""
    upload.spool.seek(0)
    try:
        with wave.open(upload.spool, "rb") as audio:  # type: ignore[arg-type]
            return audio.getnframes() / float(audio.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError):
        pass
    import mutagen

    upload.spool.seek(0)
    try:
        found = mutagen.File(upload.spool)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - mutagen raises many kinds for a file it cannot read: no duration then
        return None
    length = getattr(getattr(found, "info", None), "length", None)
    return float(length) if length else None


def subtitle_seconds(text: str) -> float | None:
    """The end of the last cue of an SRT or WebVTT transcript."""
    stamps = TIMESTAMP.findall(text)
    if not stamps:
        return None
    hours, minutes, seconds, millis = (int(part) for part in stamps[-1])
    return hours * 3600 + minutes * 60 + seconds + millis / 1000
