"""Google AI Studio (Gemini API): generateContent, streamGenerateContent (SSE), batchEmbedContents.

Request conversion lives in `gemini_convert`; `vertex_ai` reuses this adapter with another URL and auth.
"""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict
from urllib.parse import urlsplit

from apps.core import jsonutil
from apps.providers.adapters.google_media import GoogleImagesMixin, GoogleSpeechMixin
from apps.core.errors import InvalidRequest
from apps.providers.adapters.gemini_convert import SIGNATURE_FIELD, generate_content_body, tool_call_id
from apps.providers.adapters.openai import ERROR_TYPES, retry_after_seconds
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
    ParamNotSupported,
    StreamState,
    Target,
    ToolCall,
    UpstreamError,
    UpstreamRequest,
    Usage,
)
from apps.providers.embedding_format import embedding_list

# A URL path segment naming a Google API version: v1, v1beta, v1beta1, v1alpha.
API_VERSION_SEGMENT = re.compile(r"v\d+(?:alpha|beta)?\d*")
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
                  "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
                  "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
                  "IMAGE_SAFETY": "content_filter", "IMAGE_PROHIBITED_CONTENT": "content_filter",
                  "IMAGE_RECITATION": "content_filter"}
# google.rpc status -> (OpenAI error type, OpenAI error code)
STATUS_ERRORS: dict[str, tuple[str, str | None]] = {
    "INVALID_ARGUMENT": ("invalid_request_error", None), "FAILED_PRECONDITION": ("invalid_request_error", None),
    "OUT_OF_RANGE": ("invalid_request_error", None), "UNAUTHENTICATED": ("authentication_error", "invalid_api_key"),
    "PERMISSION_DENIED": ("permission_error", "permission_denied"), "NOT_FOUND": ("not_found_error", "not_found"),
    "RESOURCE_EXHAUSTED": ("rate_limit_error", "rate_limit_exceeded"), "UNAVAILABLE": ("api_error", "overloaded"),
    "DEADLINE_EXCEEDED": ("timeout", "timeout"), "INTERNAL": ("api_error", None)}
CONTEXT_MARKERS = ("exceeds the maximum number of tokens", "input token count", "token count exceeds",
                   "too many tokens", "context length", "context window")
EMBEDDING_PARAMS = frozenset({"dimensions", "encoding_format", "task_type", "user"})


class UsageMetadata(TypedDict, total=False):
    promptTokenCount: int
    candidatesTokenCount: int
    cachedContentTokenCount: int
    thoughtsTokenCount: int
    toolUsePromptTokenCount: int
    totalTokenCount: int


def usage_from_gemini(raw: UsageMetadata | None) -> Usage:
    """Normalise `usageMetadata`; thinking tokens count as completion tokens, as OpenAI's reasoning does."""
    if not raw:
        return Usage()
    thoughts = int(raw.get("thoughtsTokenCount") or 0)
    return Usage(prompt_tokens=int(raw.get("promptTokenCount") or 0) + int(raw.get("toolUsePromptTokenCount") or 0),
                 completion_tokens=int(raw.get("candidatesTokenCount") or 0) + thoughts,
                 cached_tokens=int(raw.get("cachedContentTokenCount") or 0), reasoning_tokens=thoughts)


def finish_reason(raw: str | None, *, tool_calls: bool) -> str | None:
    """Gemini's finishReason as OpenAI's; a normal stop after function calls is `tool_calls`."""
    if raw is None:
        return None
    mapped = FINISH_REASONS.get(raw, "stop")
    return "tool_calls" if tool_calls and mapped == "stop" else mapped


def response_id(data: Mapping[str, Any]) -> str:
    """Gemini's responseId, or a fresh chatcmpl id when the upstream sent none."""
    return str(data.get("responseId") or f"chatcmpl-{uuid.uuid4().hex}")


def tool_call_from_part(part: Mapping[str, Any], index: int) -> ToolCall:
    """A functionCall part as an OpenAI tool call that remembers the part's thought signature."""
    function = part["functionCall"]
    signature = part.get("thoughtSignature")
    call: dict[str, Any] = {
        "index": index, "id": tool_call_id(str(function.get("id") or f"call_{uuid.uuid4().hex[:24]}"), signature),
        "type": "function",
        "function": {"name": function.get("name", ""), "arguments": jsonutil.dumps(function.get("args") or {}).decode()}}
    if signature:
        call["provider_specific_fields"] = {SIGNATURE_FIELD: signature}
    return call  # type: ignore[return-value]


def split_parts(parts: list[Mapping[str, Any]], *, first_tool_index: int = 0) -> dict[str, Any]:
    """Text, reasoning, tool calls and the text's thought signature from one candidate's parts."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    signature: str | None = None
    for part in parts:
        if "functionCall" in part:
            calls.append(tool_call_from_part(part, first_tool_index + len(calls)))
            continue
        if part.get("thought"):
            reasoning.append(str(part.get("text") or ""))
        elif "text" in part:
            text.append(str(part["text"]))
        signature = part.get("thoughtSignature") or signature
    return {"content": "".join(text), "reasoning_content": "".join(reasoning), "tool_calls": calls,
            "signature": signature}


def message_from_candidate(candidate: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The OpenAI assistant message for a candidate, and whether it called tools."""
    pieces = split_parts((candidate.get("content") or {}).get("parts") or [])
    message: dict[str, Any] = {"role": "assistant", "content": pieces["content"] or None}
    if pieces["reasoning_content"]:
        message["reasoning_content"] = pieces["reasoning_content"]
    if pieces["tool_calls"]:
        message["tool_calls"] = [{k: v for k, v in call.items() if k != "index"} for call in pieces["tool_calls"]]
    if pieces["signature"]:
        message["provider_specific_fields"] = {SIGNATURE_FIELD: pieces["signature"]}
    return message, bool(pieces["tool_calls"])


def choices_from(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """OpenAI choices for a GenerateContentResponse (a blocked prompt gives one content_filter choice)."""
    candidates = data.get("candidates") or []
    if not candidates:  # the prompt itself was blocked: no candidates, only promptFeedback
        blocked = bool((data.get("promptFeedback") or {}).get("blockReason"))
        return [{"index": 0, "message": {"role": "assistant", "content": None},
                 "finish_reason": "content_filter" if blocked else "stop", "logprobs": None}]
    choices = []
    for position, candidate in enumerate(candidates):
        message, called = message_from_candidate(candidate)
        choices.append({"index": int(candidate.get("index", position)), "message": message,
                        "finish_reason": finish_reason(candidate.get("finishReason") or "STOP", tool_calls=called),
                        "logprobs": None})
    return choices


def google_error(status: int, headers: Mapping[str, str], data: Any, *, provider: str) -> UpstreamError:
    """An UpstreamError for a Google `{"error": {"code", "message", "status", "details"}}` body."""
    if isinstance(data, list) and data:  # streamGenerateContent without alt=sse wraps errors in a list
        data = data[0]
    error = data.get("error") if isinstance(data, Mapping) else None
    if not isinstance(error, Mapping):
        error = {"message": str(data)[:500] if data else f"upstream returned {status}"}
    message = str(error.get("message") or f"upstream returned {status}")
    error_type, code = STATUS_ERRORS.get(str(error.get("status")), (ERROR_TYPES.get(status, "api_error"), None))
    details = [item for item in error.get("details") or [] if isinstance(item, Mapping)]
    if any(item.get("reason") == "API_KEY_INVALID" for item in details):
        # Google answers a bad key with 400 INVALID_ARGUMENT; callers and routing need an auth failure.
        status, error_type, code = 401, "authentication_error", "invalid_api_key"
    if status in (400, 413) and any(marker in message.lower() for marker in CONTEXT_MARKERS):
        code = "context_length_exceeded"
    return UpstreamError(message, status=status, error_type=error_type, code=code,
                         retry_after=retry_after_seconds(headers) or retry_delay(details), provider=provider)


def retry_delay(details: list[Mapping[str, Any]]) -> float | None:
    """Seconds from a google.rpc.RetryInfo detail (`"retryDelay": "27s"`)."""
    for item in details:
        delay = item.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


class GeminiAdapter(GoogleImagesMixin, GoogleSpeechMixin, CapabilityTable):
    """Speaks the Gemini API (generativelanguage.googleapis.com) with an API key (Imagen: `google_media`)."""

    prefix: ClassVar[str] = "gemini"
    api_key_env: ClassVar[tuple[str, ...]] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    api_base_env: ClassVar[tuple[str, ...]] = ("GEMINI_API_BASE",)
    framing: ClassVar[Framing] = "sse"
    default_api_base: ClassVar[str] = "https://generativelanguage.googleapis.com"
    default_api_version: ClassVar[str] = "v1beta"
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream", "images", "speech"})

    # --- requests ---------------------------------------------------------------------------------

    def versioned_base(self, target: Target, default_base: str) -> str:
        """The base URL up to the API version: a custom `api_base` ending in one (`http://host/v1beta`, as LiteLLM
        configs write it) is used as it is, any other gets the version appended."""
        base = (target.api_base or default_base).rstrip("/")
        if API_VERSION_SEGMENT.fullmatch(urlsplit(base).path.rsplit("/", 1)[-1]):
            return base
        return f"{base}/{target.api_version or self.default_api_version}"

    def model_url(self, target: Target) -> str:
        """The model resource URL that `:generateContent` and friends are appended to."""
        model = target.model.removeprefix("models/")
        return f"{self.versioned_base(target, self.default_api_base)}/models/{model}"

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if target.api_key:
            headers["x-goog-api-key"] = target.api_key
        headers.update(target.headers)
        return headers

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        method = "streamGenerateContent?alt=sse" if call.stream else "generateContent"
        return UpstreamRequest(method="POST", url=f"{self.model_url(target)}:{method}", headers=self.headers(target),
                               body=jsonutil.dumps(generate_content_body(call, target)), stream=call.stream)

    def embedding_texts(self, call: EmbeddingCall, target: Target) -> list[str]:
        """The inputs as strings; parameters Google's embedding APIs lack are refused."""
        unknown = sorted(set(call.params) - EMBEDDING_PARAMS)
        if unknown and not target.drop_params:
            raise ParamNotSupported(f"{self.prefix} embeddings do not support: {', '.join(unknown)}", param=unknown[0])
        if not all(isinstance(item, str) for item in call.inputs):
            raise InvalidRequest(f"{self.prefix} embeddings take text inputs, not token arrays", param="input")
        return [str(item) for item in call.inputs]

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        model = f"models/{target.model.removeprefix('models/')}"
        requests = []
        for text in self.embedding_texts(call, target):
            request: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
            if call.params.get("dimensions"):
                request["outputDimensionality"] = call.params["dimensions"]
            if call.params.get("task_type"):
                request["taskType"] = call.params["task_type"]
            requests.append(request)
        return UpstreamRequest(method="POST", url=f"{self.model_url(target)}:batchEmbedContents",
                               headers=self.headers(target), body=jsonutil.dumps({"requests": requests}))

    # --- responses ---------------------------------------------------------------------------------

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        data = jsonutil.loads(body)
        usage = usage_from_gemini(data.get("usageMetadata"))
        return ChatCompletion(body={"id": response_id(data), "object": "chat.completion", "created": int(time.time()),
                                    "model": data.get("modelVersion") or target.model, "choices": choices_from(data),
                                    "usage": usage.as_openai()}, usage=usage)

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        data = jsonutil.loads(body)
        vectors = [item.get("values") or [] for item in data.get("embeddings") or []]
        usage = Usage()  # batchEmbedContents reports no token counts
        return EmbeddingResult(body=dict(embedding_list(vectors, model=target.model, usage=usage)),
                               usage=usage)

    # --- streams -----------------------------------------------------------------------------------

    def new_stream_state(self) -> StreamState:
        return BasicStreamState(created=int(time.time()))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        assert isinstance(state, BasicStreamState)
        if not frame.data or frame.data == b"[DONE]":
            return []
        data = jsonutil.loads(frame.data)
        if isinstance(data, Mapping) and "error" in data:
            error = data["error"] if isinstance(data["error"], Mapping) else {}
            raise google_error(int(error.get("code") or 500), {}, data, provider=self.prefix)
        state.response_id = state.response_id or response_id(data)
        state.model = data.get("modelVersion") or state.model
        if data.get("usageMetadata"):
            state.usage = usage_from_gemini(data["usageMetadata"])
        chunks = [self.chunk(state, choice) for choice in stream_choices(data, state)]
        started, finished = state.scratch.setdefault("started", set()), state.scratch.setdefault("finished", set())
        # Usage rides on the final frame; emit it once every candidate has finished.
        if state.usage is not None and finished and finished >= started and not state.scratch.get("usage_sent"):
            state.scratch["usage_sent"] = True
            chunks.append(ChatChunk(body={**self.chunk(state, None).body, "usage": state.usage.as_openai()},
                                    usage=state.usage))
        return chunks

    def chunk(self, state: BasicStreamState, choice: dict[str, Any] | None) -> ChatChunk:
        """A `chat.completion.chunk` with one choice (or none, for the usage chunk)."""
        return ChatChunk(body={"id": state.response_id, "object": "chat.completion.chunk", "created": state.created,
                               "model": state.model, "choices": [] if choice is None else [choice]})

    # --- errors ------------------------------------------------------------------------------------

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        try:
            data = jsonutil.loads(body) if body else {}
        except jsonutil.JSONDecodeError:
            data = body.decode("utf-8", "replace")[:500]
        return google_error(status, headers, data, provider=self.prefix)


def stream_choices(data: Mapping[str, Any], state: BasicStreamState) -> list[dict[str, Any]]:
    """Chunk choices for one streamed GenerateContentResponse: deltas first, then finish markers."""
    started: set[int] = state.scratch.setdefault("started", set())
    finished: set[int] = state.scratch.setdefault("finished", set())
    tool_counts: dict[int, int] = state.scratch.setdefault("tool_counts", {})
    candidates = data.get("candidates") or []
    if not candidates and (data.get("promptFeedback") or {}).get("blockReason"):
        started.add(0)
        finished.add(0)
        return [{"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": "content_filter",
                 "logprobs": None}]
    choices = []
    for position, candidate in enumerate(candidates):
        index = int(candidate.get("index", position))
        pieces = split_parts((candidate.get("content") or {}).get("parts") or [],
                             first_tool_index=tool_counts.get(index, 0))
        delta = delta_from(pieces, first=index not in started)
        started.add(index)
        tool_counts[index] = tool_counts.get(index, 0) + len(pieces["tool_calls"])
        if delta:
            choices.append({"index": index, "delta": delta, "finish_reason": None, "logprobs": None})
        if candidate.get("finishReason"):
            finished.add(index)
            reason = finish_reason(candidate["finishReason"], tool_calls=tool_counts[index] > 0)
            choices.append({"index": index, "delta": {}, "finish_reason": reason, "logprobs": None})
    return choices


def delta_from(pieces: Mapping[str, Any], *, first: bool) -> dict[str, Any]:
    """The OpenAI delta for one streamed candidate; the first carries the assistant role."""
    delta: dict[str, Any] = {"role": "assistant"} if first else {}
    if pieces["content"]:
        delta["content"] = pieces["content"]
    if pieces["reasoning_content"]:
        delta["reasoning_content"] = pieces["reasoning_content"]
    if pieces["tool_calls"]:
        delta["tool_calls"] = pieces["tool_calls"]
    if pieces["signature"]:
        delta["provider_specific_fields"] = {SIGNATURE_FIELD: pieces["signature"]}
    if first and len(delta) == 1:
        delta["content"] = ""
    return delta
