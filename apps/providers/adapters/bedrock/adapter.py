"""The Bedrock adapter: Converse / ConverseStream for chat, InvokeModel for Titan and Cohere embeddings, Agent
Runtime's `/rerank` (in `rerank.py`).

Titan embeds one text per call: `split_embedding` tells the transport to send a several-text request as one
call per text (concurrently), and answer them as one list.

Requests are signed with SigV4 (or a Bedrock API key) in `sign`, which the transport calls last;
credentials come from `apps.providers.aws_auth`, never from this module.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote

from apps.core import jsonutil
from apps.providers import aws_auth
from apps.providers.adapters.bedrock.images import BedrockImagesMixin
from apps.providers.adapters.bedrock.rerank import BedrockRerankMixin
from apps.providers.adapters.bedrock.convert import converse_body, embedding_body, model_id, titan_calls
from apps.providers.adapters.bedrock.response import bedrock_error, completion_body, stream_frame
from apps.providers.adapters.bedrock.response import embedding_body as embedding_result
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
)


class BedrockAdapter(BedrockImagesMixin, BedrockRerankMixin, CapabilityTable):
    """Speaks Bedrock Runtime: Converse (tools, images, caching, reasoning), event streams, embeddings; and
    Bedrock Agent Runtime's rerank."""

    prefix: ClassVar[str] = "bedrock"
    api_key_env: ClassVar[tuple[str, ...]] = ()
    api_base_env: ClassVar[tuple[str, ...]] = ("AWS_BEDROCK_RUNTIME_ENDPOINT",)
    extra_env: ClassVar[Mapping[str, tuple[str, ...]]] = {aws_auth.ENV_REGION_OPTION: aws_auth.REGION_ENV}
    framing: ClassVar[Framing] = "aws-eventstream"
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream", "images", "rerank"})

    def endpoint(self, target: Target) -> str:
        """`aws_bedrock_runtime_endpoint` / `api_base` (AWS_BEDROCK_RUNTIME_ENDPOINT when neither is given), else
        the regional Bedrock Runtime endpoint."""
        base = target.extra.get("aws_bedrock_runtime_endpoint") or target.api_base
        if base:
            return str(base).rstrip("/")
        region = aws_auth.aws_region(target.extra, model=model_id(target.model))
        return f"https://bedrock-runtime.{region}.amazonaws.com"

    def model_url(self, target: Target, operation: str) -> str:
        """`/model/{modelId}/{operation}` with the id percent-encoded as one path segment (ARNs hold `/`, `:`)."""
        return f"{self.endpoint(target)}/model/{quote(model_id(target.model), safe='')}/{operation}"

    def headers(self, target: Target, *, accept: str | None = "application/json") -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if accept:
            headers["Accept"] = accept
        headers.update(target.headers)
        return headers

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        operation = "converse-stream" if call.stream else "converse"
        return UpstreamRequest(method="POST", url=self.model_url(target, operation),
                               headers=self.headers(target, accept=None if call.stream else "application/json"),
                               body=jsonutil.dumps(converse_body(call, target)), stream=call.stream)

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        return UpstreamRequest(method="POST", url=self.model_url(target, "invoke"), headers=self.headers(target),
                               body=jsonutil.dumps(embedding_body(call, target)))

    def split_embedding(self, call: EmbeddingCall, target: Target) -> list[EmbeddingCall]:
        """The upstream calls one embeddings request needs: one per text for Titan, else the call itself."""
        return titan_calls(call, target)

    def sign(self, request: UpstreamRequest, target: Target) -> UpstreamRequest:
        """SigV4 for service `bedrock` (or Bearer with a Bedrock API key); called by the transport."""
        region = aws_auth.aws_region(target.extra, model=model_id(target.model))
        return aws_auth.sign_bedrock(request, extra=target.extra, api_key=target.api_key, region=region)

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        completion, usage = completion_body(jsonutil.loads(body), model=target.model,
                                            response_id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()))
        return ChatCompletion(body=completion, usage=usage)

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        result, usage = embedding_result(jsonutil.loads(body), model=target.model)
        return EmbeddingResult(body=result, usage=usage)

    def new_stream_state(self) -> StreamState:
        # ConverseStream names neither a response id nor the model, so the id is made up here.
        return BasicStreamState(response_id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()))

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        assert isinstance(state, BasicStreamState)
        return stream_frame(frame, state)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return bedrock_error(status=status, headers=headers, body=body)
