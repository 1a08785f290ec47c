"""The provider adapter contract and the wire values that cross it.

Adapters are pure: a `ChatCall` and a `Target` in, an `UpstreamRequest` out; response bytes in,
OpenAI-shaped values out. The transport does all IO; routing does retries and fallbacks.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, TypedDict

from apps.core.errors import GatewayError

Framing = Literal["sse", "ndjson", "aws-eventstream"]
Feature = Literal["chat", "stream", "tools", "vision", "embeddings", "rerank", "usage_in_stream",
                  "images", "image_edits", "transcription", "translation", "speech", "assistant_prefill"]


# --- wire formats (OpenAI shapes) -------------------------------------------------------------------

class FunctionCall(TypedDict):
    name: str
    arguments: str


class ToolCall(TypedDict, total=False):
    index: int
    id: str
    type: str
    function: FunctionCall


class Message(TypedDict, total=False):
    role: str
    content: Any  # str, None, or a list of content parts
    name: str
    tool_calls: list[ToolCall]
    tool_call_id: str
    reasoning_content: str


class UsageDict(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, int]
    completion_tokens_details: dict[str, int]


# --- internal values --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Target:
    """Everything one upstream call needs: which deployment, where, with which credentials."""

    provider: str  # the registry prefix, e.g. "anthropic"
    model: str  # the provider's model name, e.g. "claude-sonnet-4-20250514"
    api_base: str | None = None
    api_key: str | None = None
    api_version: str | None = None
    timeout: float = 600.0
    deployment_id: str = ""
    model_alias: str = ""
    drop_params: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)  # extra headers sent upstream
    extra: Mapping[str, Any] = field(default_factory=dict)  # other litellm_params (region, project...)
    public_only: bool = False  # a host the client named: connect only to public addresses (h1pool's check)


@dataclass(frozen=True, slots=True)
class ChatCall:
    """One OpenAI chat completion request. `params` holds every field but model/messages/stream."""

    model: str
    messages: list[Message]
    stream: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def max_tokens(self) -> int | None:
        value = self.params.get("max_completion_tokens", self.params.get("max_tokens"))
        return value if isinstance(value, int) else None

    @property
    def include_usage(self) -> bool:
        options = self.params.get("stream_options")
        return bool(isinstance(options, dict) and options.get("include_usage"))


@dataclass(frozen=True, slots=True)
class EmbeddingCall:
    """One OpenAI embeddings request; `input` is a string, list of strings, or token lists."""

    model: str
    input: Any
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> list[Any]:
        return self.input if isinstance(self.input, list) and self.input and not isinstance(
            self.input[0], int) else [self.input]


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """An HTTP request ready to send; `stream` asks the transport to read the body incrementally."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    stream: bool = False


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The next request of a multi-step call (poll a Replicate prediction): sent after `delay` seconds."""

    request: UpstreamRequest
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts normalised across providers."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_openai(self) -> UsageDict:
        """The OpenAI `usage` object for these counts."""
        usage: UsageDict = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                            "total_tokens": self.total_tokens}
        if self.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return usage


def usage_body(usage: Usage) -> dict[str, Any]:
    """The OpenAI usage object plus LiteLLM's cache fields where there were cache reads or writes."""
    body: dict[str, Any] = dict(usage.as_openai())
    if usage.cache_creation_tokens:
        body["cache_creation_input_tokens"] = usage.cache_creation_tokens
    if usage.cached_tokens:
        body["cache_read_input_tokens"] = usage.cached_tokens
    return body


@dataclass(frozen=True, slots=True)
class ChatCompletion:
    """A complete answer: `body` is the OpenAI `chat.completion` object, `usage` its counts."""

    body: dict[str, Any]
    usage: Usage


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """One streamed piece: `body` is an OpenAI `chat.completion.chunk`; `usage` set on the last one."""

    body: dict[str, Any]
    usage: Usage | None = None

    def for_client(self, *, include_usage: bool) -> dict[str, Any] | None:
        """The body a client sees: usage is always asked of upstreams (for billing) but shown only if asked."""
        if self.usage is None or include_usage:
            return self.body
        if not self.body.get("choices"):
            return None
        return {k: v for k, v in self.body.items() if k != "usage"}


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """An OpenAI `list` of embeddings and the tokens it consumed."""

    body: dict[str, Any]
    usage: Usage


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded unit of a stream: an SSE event, an NDJSON line, or an AWS event-stream message."""

    data: bytes
    event: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class StreamState(Protocol):
    """Per-stream scratch space an adapter keeps between chunks (ids, tool buffers, usage)."""


@dataclass(slots=True)
class BasicStreamState:
    """A stream state that most adapters can use as is."""

    response_id: str = ""
    model: str = ""
    created: int = 0
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_index: dict[str, int] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)


def stream_chunk(state: BasicStreamState, delta: dict[str, Any] | None, *, finish: str | None = None) -> ChatChunk:
    """A `chat.completion.chunk` with one choice carrying `delta` (none when `delta` is None)."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    return ChatChunk(body={"id": state.response_id, "object": "chat.completion.chunk", "created": state.created,
                           "model": state.model, "choices": choices})


def finish_chunks(state: BasicStreamState, finish: str, usage: Usage) -> list[ChatChunk]:
    """The last two chunks of a stream: the finish reason, then the usage-only chunk."""
    return [stream_chunk(state, {}, finish=finish),
            ChatChunk(body={**stream_chunk(state, None).body, "usage": usage.as_openai()}, usage=usage)]


# --- errors -----------------------------------------------------------------------------------------

class UpstreamError(GatewayError):
    """A provider's failure, keeping its status so routing can decide on retries and fallbacks."""

    type = "api_error"

    def __init__(self, message: str, *, status: int, error_type: str = "api_error", code: str | None = None,
                 param: str | None = None, retry_after: float | None = None, provider: str = "",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, param=param, headers=headers, code=code)
        self.upstream_status = status
        self.error_type = error_type
        self.retry_after = retry_after
        self.provider = provider
        if retry_after is not None and client_status_for(status) in (429, 503):
            # Keep the provider's back-off advice for the client (whole seconds, at least 1).
            self.headers.setdefault("Retry-After", str(max(1, math.ceil(retry_after))))

    @property
    def status(self) -> int:  # type: ignore[override]
        return client_status_for(self.upstream_status)

    def payload(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param,
                          "code": self.error_code}}

    @property
    def retryable(self) -> bool:
        """Worth another attempt (here or on another deployment): timeouts, conflicts, 429, 5xx."""
        return self.upstream_status in (408, 409, 429) or self.upstream_status >= 500

    @property
    def is_context_window(self) -> bool:
        return self.error_code == "context_length_exceeded"

    @property
    def is_content_policy(self) -> bool:
        return self.error_code == "content_policy_violation"


def client_status_for(upstream_status: int) -> int:
    """The status the client sees for an upstream status: 4xx kept, 5xx as 502/503/504."""
    if upstream_status in (503, 504):
        return upstream_status
    if upstream_status == 529:  # Anthropic's "overloaded": a temporary unavailability, as 503 says
        return 503
    if upstream_status >= 500:
        return 502
    return upstream_status


class ParamNotSupported(GatewayError):
    """The provider lacks a parameter the caller sent and `drop_params` is off."""

    status = 400
    type = "invalid_request_error"
    code = "unsupported_parameter"


class CapabilityTable:
    """`supports()` read from the adapter's `features` table (the contract suite gates cases on it)."""

    features: ClassVar[frozenset[str]] = frozenset()

    def supports(self, feature: Feature) -> bool:
        return feature in self.features


# --- the adapter contract -----------------------------------------------------------------------------

class ProviderAdapter(Protocol):
    """What every provider module implements. Pure: no IO, no settings, no module state."""

    prefix: ClassVar[str]
    framing: ClassVar[Framing]

    def supports(self, feature: Feature) -> bool: ...

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest: ...

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion: ...

    def new_stream_state(self) -> StreamState: ...

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]: ...

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest: ...

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult: ...


class MultiStepAdapter(Protocol):
    """Optional hooks of an adapter whose calls take several requests (the transport looks for them).

    `follow_up`: after each answer of a non-streamed call, the next request to make, or None when the
    answer is final (then `parse_response` reads it). `stream_request`: for a streamed call, the first
    request (`translate_request`) is sent whole and its answer names the stream to open.
    """

    def follow_up(self, status: int, body: bytes, target: Target) -> FollowUp | None: ...

    def stream_request(self, status: int, body: bytes, target: Target) -> UpstreamRequest: ...
