"""Infinity (michaelfeil/infinity, self-hosted): `{api_base}/embeddings` and `{api_base}/rerank`, as LiteLLM's
`infinity/` provider calls them (`infinity/BAAI/bge-reranker-v2-m3`, `infinity/BAAI/bge-small-en-v1.5`)."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.embedding_rerank import EmbeddingRerankAdapter
from apps.providers.adapters.openai_compatible import ApiBaseRequired
from apps.providers.base import Target


class InfinityAdapter(EmbeddingRerankAdapter):
    """Infinity answers rerank in Cohere's shape (billed in `usage.total_tokens`) and embeddings in OpenAI's; it
    takes `dimensions` as `output_dimension` and a `modality`, as LiteLLM maps them. There is no public endpoint."""

    prefix: ClassVar[str] = "infinity"
    api_key_env: ClassVar[tuple[str, ...]] = ("INFINITY_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("INFINITY_API_BASE",)
    default_api_base: ClassVar[str] = ""
    embedding_params: ClassVar[frozenset[str]] = frozenset({"modality"})
    dimensions_field: ClassVar[str] = "output_dimension"

    def base_url(self, target: Target) -> str:
        """The server's base; a configured one ending at an endpoint is cut back to it (as LiteLLM accepts)."""
        if not target.api_base:
            raise ApiBaseRequired("provider 'infinity' has no default endpoint: set api_base on the deployment "
                                  "(for example http://localhost:7997)")
        base = target.api_base.rstrip("/")
        for endpoint in ("/embeddings", "/rerank"):
            base = base.removesuffix(endpoint)
        return base
