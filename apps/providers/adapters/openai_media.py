"""OpenAI's images and audio APIs, for OpenAI and the adapters that speak them (Azure, Groq).

Requests go out as the client shaped them: generations and speech as JSON, edits, transcriptions and translations
as multipart uploads (the client's fields, the deployment's model, the files streamed from their spools); the
answers come back as OpenAI wrote them, so `b64_json` and `url`, and every transcript format, pass unchanged.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core import jsonutil
from apps.providers.audio import TEXT_FORMATS, SpeechCall, TranscriptionCall, Transcript, subtitle_seconds
from apps.providers.base import Target, UpstreamRequest, Usage
from apps.providers.images import ImageCall, ImageResult
from apps.providers.upload_body import MultipartBody, UploadRequest

ARRAY_FIELDS = frozenset({"timestamp_granularities", "include", "known_speaker_names", "known_speaker_references"})
OPERATIONS = {"transcription": "audio/transcriptions", "translation": "audio/translations"}


def form_fields(model: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The multipart text fields: the deployment's model, then the client's (arrays as `name[]`, one per value)."""
    fields = [("model", model)]
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        sent = f"{name}[]" if name in ARRAY_FIELDS else name
        fields.extend((sent, item if isinstance(item, str) else jsonutil.dumps(item).decode()) for item in values)
    return fields


def image_fields(call: ImageCall) -> dict[str, Any]:
    """The generation or edit fields the client set (unset ones are left to the provider's defaults)."""
    fields: dict[str, Any] = {"prompt": call.prompt}
    if call.n != 1:
        fields["n"] = call.n
    for name in ("size", "quality", "response_format"):
        if value := getattr(call, name):
            fields[name] = value
    fields.update(call.params)
    return fields


def image_usage(raw: Any) -> Usage | None:
    """gpt-image's token usage (`input_tokens` / `output_tokens`), None for per-image models."""
    if not isinstance(raw, dict):
        return None
    return Usage(prompt_tokens=int(raw.get("input_tokens") or 0), completion_tokens=int(raw.get("output_tokens") or 0))


def transcript_usage(data: Mapping[str, Any]) -> tuple[float | None, Usage | None, int]:
    """(seconds, token usage, audio tokens) from a JSON transcript: verbose_json's `duration`, or `usage` as
    `{"type": "duration", "seconds"}` (whisper) or `{"type": "tokens", ...}` (gpt-4o-transcribe)."""
    raw = data.get("usage")
    usage: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    seconds = data.get("duration", usage.get("seconds"))
    if usage.get("type") == "tokens":
        details = usage.get("input_token_details") or {}
        tokens = Usage(prompt_tokens=int(usage.get("input_tokens") or 0),
                       completion_tokens=int(usage.get("output_tokens") or 0))
        return (float(seconds) if seconds is not None else None), tokens, int(details.get("audio_tokens") or 0)
    return (float(seconds) if isinstance(seconds, int | float) else None), None, 0


class OpenAIMediaMixin:
    """Images and audio over OpenAI's paths; `media_url` says where (Azure: its deployment paths)."""

    def media_url(self, target: Target, operation: str) -> str:
        return f"{self.base_url(target)}/{operation}"  # type: ignore[attr-defined]

    def upload_headers(self, target: Target, body: MultipartBody) -> dict[str, str]:
        headers = {name: value for name, value in self.headers(target).items()  # type: ignore[attr-defined]
                   if name.lower() != "content-type"}
        headers["Content-Type"] = body.content_type
        return headers

    # --- images ------------------------------------------------------------------------------------

    def translate_image_request(self, call: ImageCall, target: Target) -> UpstreamRequest:
        body = {"model": target.model, **image_fields(call)}
        return UpstreamRequest(method="POST", url=self.media_url(target, "images/generations"),
                               headers=self.headers(target), body=jsonutil.dumps(body))  # type: ignore[attr-defined]

    def translate_image_edit(self, call: ImageCall, target: Target) -> UploadRequest:
        files = [(upload.field, upload) for upload in call.images]
        if call.mask is not None:
            files.append(("mask", call.mask))
        body = MultipartBody(form_fields(target.model, image_fields(call)), files)
        return UploadRequest(url=self.media_url(target, "images/edits"), headers=self.upload_headers(target, body),
                             body=body)

    def parse_image_response(self, status: int, body: bytes, call: ImageCall, target: Target) -> ImageResult:
        data = jsonutil.loads(body)
        return ImageResult(body=data, images=len(data.get("data") or []), usage=image_usage(data.get("usage")))

    # --- audio -------------------------------------------------------------------------------------

    def translate_transcription(self, call: TranscriptionCall, target: Target) -> UploadRequest:
        body = MultipartBody(form_fields(target.model, dict(call.params)), [("file", call.file)])
        return UploadRequest(url=self.media_url(target, OPERATIONS[call.task]),
                             headers=self.upload_headers(target, body), body=body)

    def parse_transcription(self, status: int, headers: Mapping[str, str], body: bytes,
                            call: TranscriptionCall) -> Transcript:
        if call.response_format in TEXT_FORMATS:
            text = body.decode("utf-8", "replace")
            return Transcript(body=body, content_type=TEXT_FORMATS[call.response_format],
                              seconds=subtitle_seconds(text) if call.response_format != "text" else None)
        seconds, usage, audio_tokens = transcript_usage(jsonutil.loads(body))
        return Transcript(body=body, content_type="application/json", seconds=seconds, usage=usage,
                          audio_tokens=audio_tokens)

    def translate_speech(self, call: SpeechCall, target: Target) -> UpstreamRequest:
        body: dict[str, Any] = {"model": target.model, "input": call.input, **call.params}
        if call.voice is not None:
            body["voice"] = call.voice
        if call.response_format:
            body["response_format"] = call.response_format
        return UpstreamRequest(method="POST", url=self.media_url(target, "audio/speech"),
                               headers=self.headers(target), body=jsonutil.dumps(body),  # type: ignore[attr-defined]
                               stream=True)
