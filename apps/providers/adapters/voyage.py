"""Voyage AI: `/v1/embeddings` and `/v1/rerank` (`voyage/voyage-3.5`, `voyage/rerank-2.5`)."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.embedding_rerank import EmbeddingRerankAdapter
from apps.providers.base import Target


class VoyageAdapter(EmbeddingRerankAdapter):
    """Voyage names `dimensions` `output_dimension`, `top_n` `top_k`, and answers rerank under `data`."""

    prefix: ClassVar[str] = "voyage"
    api_key_env: ClassVar[tuple[str, ...]] = ("VOYAGE_API_KEY", "VOYAGE_AI_API_KEY", "VOYAGE_AI_TOKEN")
    api_base_env: ClassVar[tuple[str, ...]] = ()
    default_api_base: ClassVar[str] = "https://api.voyageai.com/v1"
    embedding_params: ClassVar[frozenset[str]] = frozenset({"input_type", "truncation", "output_dtype"})
    dimensions_field: ClassVar[str] = "output_dimension"
    top_n_field: ClassVar[str] = "top_k"
    results_field: ClassVar[str] = "data"

    def base_url(self, target: Target) -> str:
        """A configured base may end at the host, at `/v1`, or at an endpoint (LiteLLM accepts all three)."""
        base = (target.api_base or self.default_api_base).rstrip("/")
        for endpoint in ("/embeddings", "/rerank"):
            base = base.removesuffix(endpoint)
        return base if base.endswith("/v1") else f"{base}/v1"
