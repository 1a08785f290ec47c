"""Imagen and text-to-speech on the Gemini API and Vertex AI.

Images: `:predict` with `instances[].prompt` and `parameters.sampleCount`, answered as OpenAI's ImagesResponse
(`b64_json`; Imagen returns no URLs). Speech: the TTS models' `:streamGenerateContent` with `responseModalities:
["AUDIO"]`; the 24 kHz 16-bit PCM of each event is sent on as it arrives, as WAV (a header of unknown length,
then the samples) or raw `pcm`.
"""
from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from typing import Any, Protocol

from apps.core import jsonutil
from apps.providers.audio import SpeechCall, SpeechUsage
from apps.providers.base import ParamNotSupported, Target, UpstreamRequest, Usage
from apps.providers.framing import decoder_for
from apps.providers.images import ImageCall, ImageData, ImageResult, b64_only, images_body

# Imagen's aspect ratios, by width / height; an OpenAI `size` gets the nearest.
ASPECT_RATIOS = {"1:1": 1.0, "4:3": 4 / 3, "3:4": 3 / 4, "16:9": 16 / 9, "9:16": 9 / 16}
PARAMETER_NAMES = {"aspect_ratio": "aspectRatio", "negative_prompt": "negativePrompt",
                   "person_generation": "personGeneration", "safety_filter_level": "safetySetting",
                   "add_watermark": "addWatermark", "seed": "seed", "output_mime_type": "outputMimeType"}


def aspect_ratio(size: str) -> str | None:
    width, _, height = size.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or int(height) == 0:
        return None
    ratio = int(width) / int(height)
    return min(ASPECT_RATIOS, key=lambda name: abs(ASPECT_RATIOS[name] - ratio))


def predict_body(call: ImageCall) -> dict[str, Any]:
    parameters: dict[str, Any] = {"sampleCount": call.n}
    if call.size and (ratio := aspect_ratio(call.size)):
        parameters["aspectRatio"] = ratio
    for name, value in call.params.items():
        parameters[PARAMETER_NAMES.get(name, name)] = value
    return {"instances": [{"prompt": call.prompt}], "parameters": parameters}


class GoogleImagesMixin:
    """Image generation with Imagen models (`imagen-3.0-generate-002`, `imagen-4.0-generate-001`, ...)."""

    def translate_image_request(self, call: ImageCall, target: Target) -> UpstreamRequest:
        b64_only(call, target.provider)
        return UpstreamRequest(method="POST", url=f"{self.model_url(target)}:predict",  # type: ignore[attr-defined]
                               headers=self.headers(target), body=jsonutil.dumps(predict_body(call)))  # type: ignore[attr-defined]

    def parse_image_response(self, status: int, body: bytes, call: ImageCall, target: Target) -> ImageResult:
        predictions = jsonutil.loads(body).get("predictions") or []
        data: list[ImageData] = [{"b64_json": str(p["bytesBase64Encoded"])} for p in predictions
                                 if p.get("bytesBase64Encoded")]
        return ImageResult(body=images_body(data), images=len(data))


PCM_RATE = 24_000  # Gemini's TTS output: 16-bit mono PCM at 24 kHz
SPEECH_FORMATS = ("", "wav", "pcm")
UNKNOWN_LENGTH = 0xFFFFFFFF


class AudioBody(Protocol):
    def aiter_raw(self) -> AsyncIterator[bytes]: ...


def wav_header(rate: int = PCM_RATE) -> bytes:
    """A WAV header for 16-bit mono PCM of a length not known yet (as streaming encoders write it)."""
    return (b"RIFF" + struct.pack("<I", UNKNOWN_LENGTH) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate,
                                                                                    rate * 2, 2, 16)
            + b"data" + struct.pack("<I", UNKNOWN_LENGTH))


def speech_body(call: SpeechCall) -> dict[str, Any]:
    config: dict[str, Any] = {"responseModalities": ["AUDIO"]}
    if call.voice is not None:
        name = call.voice.get("id") if isinstance(call.voice, dict) else call.voice
        config["speechConfig"] = {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": str(name)}}}
    text = call.input if "instructions" not in call.params else f"{call.params['instructions']}: {call.input}"
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], "generationConfig": config}


def audio_parts(data: dict[str, Any]) -> list[bytes]:
    """The PCM of one streamed GenerateContentResponse."""
    found = []
    for candidate in data.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or {}
            if inline.get("data"):
                found.append(base64.b64decode(inline["data"]))
    return found


def modality_tokens(details: Any, modality: str) -> int | None:
    """The tokens of one modality in a `*TokensDetails` list, None when the list does not break them down."""
    if not isinstance(details, list) or not details:
        return None
    return sum(int(item.get("tokenCount") or 0) for item in details
               if isinstance(item, dict) and item.get("modality") == modality)


def speech_usage(metadata: dict[str, Any]) -> SpeechUsage:
    """A TTS answer's `usageMetadata`: text in, audio out (all output is audio unless the details say otherwise)."""
    output = int(metadata.get("candidatesTokenCount") or 0)
    audio = modality_tokens(metadata.get("candidatesTokensDetails"), "AUDIO")
    return SpeechUsage(usage=Usage(prompt_tokens=int(metadata.get("promptTokenCount") or 0), completion_tokens=output),
                       audio_tokens=output if audio is None else audio)


class GoogleSpeechMixin:
    """`/v1/audio/speech` over the TTS models (`gemini-2.5-flash-preview-tts`, ...)."""

    def translate_speech(self, call: SpeechCall, target: Target) -> UpstreamRequest:
        if call.response_format not in SPEECH_FORMATS:
            raise ParamNotSupported(f"{target.provider} speech is PCM audio: use response_format 'wav' or 'pcm', not "
                                    f"{call.response_format!r}.", param="response_format")
        return UpstreamRequest(method="POST", url=f"{self.model_url(target)}:streamGenerateContent?alt=sse",  # type: ignore[attr-defined]
                               headers=self.headers(target), body=jsonutil.dumps(speech_body(call)),  # type: ignore[attr-defined]
                               stream=True)

    def speech_type(self, call: SpeechCall) -> str:
        return "audio/pcm" if call.response_format == "pcm" else "audio/wav"

    async def speech_pieces(self, response: AudioBody, call: SpeechCall, usage: SpeechUsage) -> AsyncIterator[bytes]:
        """The audio as each event brings it (a WAV header first unless `pcm` was asked for); the last
        `usageMetadata` seen is kept in `usage` (the final event carries the totals)."""
        if call.response_format != "pcm":
            yield wav_header()
        decoder = decoder_for("sse")
        async for data in response.aiter_raw():
            for frame in decoder.feed(data):
                if not frame.data:
                    continue
                event = jsonutil.loads(frame.data)
                if isinstance(event.get("usageMetadata"), dict):
                    reported = speech_usage(event["usageMetadata"])
                    usage.usage, usage.audio_tokens = reported.usage, reported.audio_tokens
                for pcm in audio_parts(event):
                    yield pcm
