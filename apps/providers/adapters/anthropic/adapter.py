"""The Anthropic adapter: Messages API requests out, OpenAI chat shapes back (see convert/response)."""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.adapters.anthropic.convert import messages_body
from apps.providers.adapters.anthropic.passthrough import (
    StreamUsage,
    answer_usage,
    client_headers,
    count_body,
    counted_tokens,
    passthrough_body,
)
from apps.providers.adapters.anthropic.response import anthropic_error, completion_body, stream_event
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

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicAdapter(CapabilityTable):
    """Speaks the Anthropic Messages API: tools, images, prompt caching, extended thinking, SSE."""

    prefix: ClassVar[str] = "anthropic"
    api_key_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL")
    framing: ClassVar[Framing] = "sse"
    default_api_base: ClassVar[str] = "https://api.anthropic.com"
    # assistant_prefill: a trailing assistant message is continued, not answered (Anthropic's prefill)
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "tools", "vision", "usage_in_stream",
                                                    "assistant_prefill"})

    def headers(self, target: Target) -> dict[str, str]:
        """API key, API version, JSON; target headers (e.g. `anthropic-beta`) last so they can override."""
        headers = {"content-type": "application/json", "accept": "application/json",
                   "anthropic-version": target.api_version or ANTHROPIC_VERSION}
        if target.api_key:
            headers["x-api-key"] = target.api_key
        headers.update(target.headers)
        return headers

    def url(self, target: Target) -> str:
        """`{api_base}/v1/messages`; an api_base given with `/v1` or the full path is accepted too."""
        base = (target.api_base or self.default_api_base).rstrip("/")
        return base if base.endswith("/v1/messages") else f"{base.removesuffix('/v1')}/v1/messages"

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        return UpstreamRequest(method="POST", url=self.url(target), headers=self.headers(target),
                               body=jsonutil.dumps(messages_body(call, target)), stream=call.stream)

    # --- /v1/messages pass-through (apps.routing.messages looks for these hooks) ------------------

    def messages_request(self, body: Mapping[str, Any], target: Target, headers: Mapping[str, str]) -> UpstreamRequest:
        """The client's Messages body sent as is, for the deployment's model, with its version and beta headers."""
        sent = {**self.headers(target), **client_headers(headers), **target.headers}
        return UpstreamRequest(method="POST", url=self.url(target), headers=sent,
                               body=passthrough_body(body, target.model), stream=bool(body.get("stream")))

    def messages_count_request(self, body: Mapping[str, Any], target: Target,
                               headers: Mapping[str, str]) -> UpstreamRequest:
        """Anthropic's own token count for the client's body (`/v1/messages/count_tokens`)."""
        sent = {**self.headers(target), **client_headers(headers), **target.headers}
        return UpstreamRequest(method="POST", url=f"{self.url(target)}/count_tokens", headers=sent,
                               body=count_body(body, target.model))

    def messages_counted(self, body: bytes) -> int | None:
        return counted_tokens(body)

    def messages_usage(self, body: bytes) -> Usage:
        return answer_usage(body)

    def messages_stream_usage(self) -> StreamUsage:
        return StreamUsage()

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        data = jsonutil.loads(body)
        if data.get("type") == "error":
            raise anthropic_error(status=None, headers={}, body=data)
        completion, usage = completion_body(data, model=target.model, created=int(time.time()))
        return ChatCompletion(body=completion, usage=usage)

    def new_stream_state(self) -> StreamState:
        return BasicStreamState(created=int(time.time()))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        if not frame.data:
            return []
        assert isinstance(state, BasicStreamState)
        return stream_event(jsonutil.loads(frame.data), state)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return anthropic_error(status=status, headers=headers, body=body)

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        raise InvalidRequest("Anthropic has no embeddings API; use a voyage/ or bedrock/ model", param="model")

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        raise InvalidRequest("Anthropic has no embeddings API", param="model")
