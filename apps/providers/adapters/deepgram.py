"""Deepgram's pre-recorded speech-to-text API (`/v1/listen`): the upload sent as the raw body, options in the
query, and the answer turned into OpenAI's transcript formats (json, text, srt, vtt, verbose_json)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from apps.core import jsonutil
from apps.providers.adapters.embedding_rerank import NoChat
from apps.providers.adapters.openai import OpenAIAdapter, retry_after_seconds
from apps.providers.audio import TEXT_FORMATS, TranscriptionCall, Transcript
from apps.providers.base import ChatCall, EmbeddingCall, ParamNotSupported, Target, UpstreamError, UpstreamRequest
from apps.providers.upload_body import FileBody, UploadRequest

# OpenAI's transcription fields Deepgram has no counterpart for (refused unless drop_params is set).
UNSUPPORTED = ("prompt", "temperature", "timestamp_granularities", "chunking_strategy", "include")
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "permission_error",
               403: "permission_error", 404: "not_found_error", 429: "rate_limit_error"}
DEFAULT_OPTIONS = {"smart_format": "true", "punctuate": "true"}


def stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    return (f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}"
            f"{separator}{millis % 1000:03d}")


def cues(results: Mapping[str, Any], text: str, duration: float) -> list[tuple[float, float, str]]:
    """(start, end, text) per utterance, or one cue for the whole file."""
    utterances = results.get("utterances") or []
    found = [(float(u.get("start") or 0), float(u.get("end") or 0), str(u.get("transcript") or "")) for u in utterances]
    return found or [(0.0, duration, text)]


def subtitles(found: list[tuple[float, float, str]], kind: str) -> str:
    if kind == "srt":
        return "".join(f"{i}\n{stamp(start, ',')} --> {stamp(end, ',')}\n{text}\n\n"
                       for i, (start, end, text) in enumerate(found, start=1))
    return "WEBVTT\n\n" + "".join(f"{stamp(start, '.')} --> {stamp(end, '.')}\n{text}\n\n" for start, end, text in found)


class DeepgramAdapter(OpenAIAdapter):
    """`deepgram/nova-2`, `deepgram/nova-3`, `deepgram/whisper-large`...: transcriptions only."""

    prefix: ClassVar[str] = "deepgram"
    default_api_base: ClassVar[str] = "https://api.deepgram.com"
    api_key_env: ClassVar[tuple[str, ...]] = ("DEEPGRAM_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("DEEPGRAM_API_BASE",)
    features: ClassVar[frozenset[str]] = frozenset({"transcription"})

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        raise NoChat("Deepgram deployments serve /v1/audio/transcriptions only.", param="model")

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        raise NoChat("Deepgram deployments serve /v1/audio/transcriptions only.", param="model")

    def listen_query(self, call: TranscriptionCall, target: Target) -> dict[str, str]:
        sent = [name for name in UNSUPPORTED if name in call.params]
        if sent and not target.drop_params:
            raise ParamNotSupported(f"deepgram does not support the parameter {sent[0]!r}; set drop_params to drop "
                                    f"it.", param=sent[0])
        query = {"model": target.model, **DEFAULT_OPTIONS}
        if language := call.param("language"):
            query["language"] = language
        if call.response_format in ("srt", "vtt", "verbose_json"):
            query["utterances"] = "true"
        return query

    def translate_transcription(self, call: TranscriptionCall, target: Target) -> UploadRequest:
        base = (target.api_base or self.default_api_base).rstrip("/").removesuffix("/v1")
        headers = {"Authorization": f"Token {target.api_key}", "Content-Type": call.file.content_type,
                   **target.headers}
        return UploadRequest(url=f"{base}/v1/listen?{urlencode(self.listen_query(call, target))}", headers=headers,
                             body=FileBody(call.file))

    def parse_transcription(self, status: int, headers: Mapping[str, str], body: bytes,
                            call: TranscriptionCall) -> Transcript:
        data = jsonutil.loads(body)
        results = data.get("results") or {}
        channel = (results.get("channels") or [{}])[0]
        best = (channel.get("alternatives") or [{}])[0]
        text = str(best.get("transcript") or "")
        duration = float((data.get("metadata") or {}).get("duration") or 0)
        kind = call.response_format
        if kind in TEXT_FORMATS:
            rendered = text + "\n" if kind == "text" else subtitles(cues(results, text, duration), kind)
            return Transcript(body=rendered.encode(), content_type=TEXT_FORMATS[kind], seconds=duration)
        answer: dict[str, Any] = {"text": text}
        if kind == "verbose_json":
            answer = {"task": "transcribe", "language": call.param("language") or channel.get("detected_language")
                      or "en", "duration": duration, "text": text,
                      "segments": [{"id": i, "start": start, "end": end, "text": said}
                                   for i, (start, end, said) in enumerate(cues(results, text, duration))],
                      "words": [{"word": w.get("word"), "start": w.get("start"), "end": w.get("end")}
                                for w in best.get("words") or []]}
        return Transcript(body=jsonutil.dumps(answer), content_type="application/json", seconds=duration)

    def error_from_body(self, status: int, headers: Mapping[str, str], data: Mapping[str, Any]) -> UpstreamError:
        """Deepgram's `{"err_code", "err_msg"}` (OpenAI-style bodies from proxies are read too)."""
        if "err_msg" not in data:
            return super().error_from_body(status, headers, data)
        return UpstreamError(str(data["err_msg"]), status=status, error_type=ERROR_TYPES.get(status, "api_error"),
                             code=str(data.get("err_code") or "") or None, provider=self.prefix,
                             retry_after=retry_after_seconds(headers))
