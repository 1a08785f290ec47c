"""`sagemaker_chat/<endpoint>`: SageMaker endpoints serving the OpenAI-compatible messages API (TGI's
Messages API, LMI / vLLM's chat completions), signed like `sagemaker/`.

The body is OpenAI's chat request (with the endpoint name as `model`, as LiteLLM sends it); the answer is
a `chat.completion`; a stream is OpenAI chunks (`data:` lines) inside `PayloadPart` events, read as the
OpenAI-compatible presets read theirs (usage riding on the last content chunk gets its own chunk).
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from apps.core import jsonutil
from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter, unsupported_error
from apps.providers.adapters.sagemaker import runtime
from apps.providers.base import (
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
)


class SageMakerChatAdapter(OpenAICompatibleAdapter):
    """OpenAI chat completions over InvokeEndpoint / InvokeEndpointWithResponseStream."""

    prefix: ClassVar[str] = "sagemaker_chat"
    api_key_env: ClassVar[tuple[str, ...]] = ()
    api_base_env: ClassVar[tuple[str, ...]] = ()
    extra_env: ClassVar[Mapping[str, tuple[str, ...]]] = runtime.REGION_FROM_ENV
    framing: ClassVar[Framing] = "aws-eventstream"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "tools", "vision"})

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        return runtime.runtime_request(target, self.chat_body(call, target), stream=call.stream)

    def sign(self, request: UpstreamRequest, target: Target) -> UpstreamRequest:
        return runtime.sign(request, target)

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        """TGI answers with an empty `id`: one is made up, as for the chunks of a stream."""
        result = super().parse_response(status, body, target)
        if result.body.get("id"):
            return result
        return ChatCompletion(body={**result.body, "id": f"chatcmpl-{uuid.uuid4().hex}"}, usage=result.usage)

    def new_stream_state(self) -> StreamState:
        state = BasicStreamState(response_id=f"chatcmpl-{uuid.uuid4().hex}")
        state.scratch["lines"] = runtime.PayloadLines(self.prefix)
        return state

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        assert isinstance(state, BasicStreamState)
        chunks: list[ChatChunk] = []
        for payload in state.scratch["lines"].feed(frame):
            if isinstance(payload, dict) and not payload.get("id"):
                payload = {**payload, "id": state.response_id}
            chunks.extend(super().parse_stream_chunk(Frame(data=jsonutil.dumps(payload)), state))
        return chunks

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return runtime.sagemaker_error(status=status, headers=headers, body=body, provider=self.prefix)

    def error_from_body(self, status: int, headers: Mapping[str, str], data: Mapping[str, Any]) -> UpstreamError:
        error = super().error_from_body(status, headers, data)
        error.provider = self.prefix
        return error

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        raise unsupported_error(provider=self.prefix, names=["input"])

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        raise unsupported_error(provider=self.prefix, names=["input"])
