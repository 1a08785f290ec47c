"""OpenAI and any OpenAI-compatible upstream (vLLM, LM Studio, Groq, Together, ...)."""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from apps.core import jsonutil
from apps.providers.adapters.openai_media import OpenAIMediaMixin
from apps.providers.base import (
    CapabilityTable,
    BasicStreamState,
    ChatCall,
    ChatChunk,
    ChatCompletion,
    EmbeddingCall,
    EmbeddingResult,
    Frame,
    Framing,
    StreamState,
    Target,
    UpstreamError,
    UpstreamRequest,
    Usage,
)

MEDIA_FEATURES = ("images", "image_edits", "transcription", "translation", "speech")
# OpenAI's error `type` for each status, used when an upstream body does not name one.
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 408: "timeout", 409: "conflict_error", 413: "invalid_request_error",
               422: "invalid_request_error", 429: "rate_limit_error"}
CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "context window", "too many tokens")
POLICY_MARKERS = ("content_policy_violation", "content_filter", "content management policy")


def usage_from_openai(raw: Mapping[str, Any] | None) -> Usage:
    """Normalise an OpenAI `usage` object (None gives zeros)."""
    if not raw:
        return Usage()
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    return Usage(prompt_tokens=int(raw.get("prompt_tokens") or 0),
                 completion_tokens=int(raw.get("completion_tokens") or 0),
                 cached_tokens=int(prompt_details.get("cached_tokens") or 0),
                 reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0))


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (numeric form), if present."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw:
            try:
                return max(0.0, float(raw) * scale)
            except ValueError:
                continue
    return None


def error_code_for(status: int, message: str, code: str | None) -> str | None:
    """Recognise context-window and content-policy failures from the code or the message."""
    text = f"{code or ''} {message}".lower()
    if status in (400, 413, 422) and any(marker in text for marker in CONTEXT_MARKERS):
        return "context_length_exceeded"
    if status == 400 and any(marker in text for marker in POLICY_MARKERS):
        return "content_policy_violation"
    return code


class OpenAIAdapter(OpenAIMediaMixin, CapabilityTable):
    """Speaks OpenAI's Chat Completions and Embeddings APIs (and its images and audio ones: `openai_media`)."""

    prefix: ClassVar[str] = "openai"
    framing: ClassVar[Framing] = "sse"
    default_api_base: ClassVar[str] = "https://api.openai.com/v1"
    api_key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("OPENAI_BASE_URL", "OPENAI_API_BASE")  # LiteLLM's order
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream", *MEDIA_FEATURES})

    # --- requests ---------------------------------------------------------------------------------

    def base_url(self, target: Target) -> str:
        return (target.api_base or self.default_api_base).rstrip("/")

    def auth_headers(self, target: Target) -> dict[str, str]:
        return {"Authorization": f"Bearer {target.api_key}"} if target.api_key else {}

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers.update(self.auth_headers(target))
        organization = target.extra.get("organization")
        if organization:
            headers["OpenAI-Organization"] = str(organization)
        headers.update(target.headers)
        return headers

    def chat_body(self, call: ChatCall, target: Target) -> dict[str, Any]:
        """The upstream JSON: every client parameter passes through, unknown ones included."""
        body: dict[str, Any] = {"model": target.model, "messages": call.messages, **call.params}
        if call.stream:
            body["stream"] = True
            if self.supports("usage_in_stream"):
                # Always ask for usage so a streamed call is billed from the provider's own count.
                options = dict(body.get("stream_options") or {})
                options["include_usage"] = True
                body["stream_options"] = options
        return body

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        return UpstreamRequest(method="POST", url=f"{self.base_url(target)}/chat/completions",
                               headers=self.headers(target), body=jsonutil.dumps(self.chat_body(call, target)),
                               stream=call.stream)

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        body = {"model": target.model, "input": call.input, **call.params}
        return UpstreamRequest(method="POST", url=f"{self.base_url(target)}/embeddings",
                               headers=self.headers(target), body=jsonutil.dumps(body))

    # --- responses ---------------------------------------------------------------------------------

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        data = jsonutil.loads(body)
        return ChatCompletion(body=data, usage=usage_from_openai(data.get("usage")))

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        data = jsonutil.loads(body)
        return EmbeddingResult(body=data, usage=usage_from_openai(data.get("usage")))

    def new_stream_state(self) -> StreamState:
        return BasicStreamState(created=int(time.time()))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        if frame.data == b"[DONE]" or not frame.data:
            return []
        data = jsonutil.loads(frame.data)
        if "error" in data and "choices" not in data:
            raise self.error_from_body(500, {}, data)
        usage = data.get("usage")
        return [ChatChunk(body=data, usage=usage_from_openai(usage) if usage else None)]

    # --- errors ------------------------------------------------------------------------------------

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        try:
            data = jsonutil.loads(body) if body else {}
        except jsonutil.JSONDecodeError:
            data = {"error": {"message": body.decode("utf-8", "replace")[:500]}}
        return self.error_from_body(status, headers, data if isinstance(data, dict) else {})

    def error_from_body(self, status: int, headers: Mapping[str, str], data: Mapping[str, Any]) -> UpstreamError:
        """Build the UpstreamError for an OpenAI-style `{"error": {...}}` body."""
        error = data.get("error")
        if isinstance(error, str):
            error = {"message": error}
        if not isinstance(error, dict):
            error = {"message": data.get("message") or data.get("detail") or f"upstream returned {status}"}
        message = str(error.get("message") or f"upstream returned {status}")
        raw_code = error.get("code")
        code = error_code_for(status, message, str(raw_code) if raw_code is not None else None)
        return UpstreamError(message, status=status,
                             error_type=str(error.get("type") or ERROR_TYPES.get(status, "api_error")),
                             code=code, param=error.get("param"), retry_after=retry_after_seconds(headers),
                             provider=self.prefix)
