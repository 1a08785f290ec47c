"""A rerank call over the transport: the adapter's `translate_rerank_request` sent, its answer parsed."""
from __future__ import annotations

from typing import Protocol

from apps.core.errors import InvalidRequest
from apps.providers import transport
from apps.providers.base import ProviderAdapter, Target, UpstreamRequest
from apps.providers.rerank import RerankCall, RerankResult


class RerankAdapter(ProviderAdapter, Protocol):
    """An adapter with the rerank hooks (Cohere, Voyage, Jina, vLLM, Infinity, Bedrock)."""

    def translate_rerank_request(self, call: RerankCall, target: Target) -> UpstreamRequest: ...

    def parse_rerank_response(self, status: int, body: bytes, call: RerankCall) -> RerankResult: ...


class RerankNotSupported(InvalidRequest):
    """The model's provider has no rerank API."""

    code = "unsupported_operation"


def can_rerank(adapter: ProviderAdapter) -> bool:
    """Whether the adapter declares rerank and has its hooks."""
    return adapter.supports("rerank") and hasattr(adapter, "translate_rerank_request")


def rerank_adapter(adapter: ProviderAdapter, model: str) -> RerankAdapter:
    """The adapter as a rerank one, or a 400 naming the model."""
    if not can_rerank(adapter):
        raise RerankNotSupported(f"The model `{model}` is served by provider {adapter.prefix!r}, which has no "
                                 f"rerank API; use a cohere, voyage, jina_ai, bedrock, infinity or vllm deployment.", param="model")
    return adapter  # type: ignore[return-value]


async def send_rerank(adapter: ProviderAdapter, call: RerankCall, target: Target) -> RerankResult:
    """The upstream's ranking of `call.documents` for `call.query`."""
    reranker = rerank_adapter(adapter, call.model)
    status, body = await transport.send(adapter, reranker.translate_rerank_request(call, target), target)
    return reranker.parse_rerank_response(status, body, call)
