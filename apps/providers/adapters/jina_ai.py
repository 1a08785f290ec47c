"""Jina AI: `/v1/embeddings` and `/v1/rerank` (`jina_ai/jina-embeddings-v3`, `jina_ai/jina-reranker-v2-base-multilingual`)."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.embedding_rerank import EmbeddingRerankAdapter
from apps.providers.base import Target


class JinaAIAdapter(EmbeddingRerankAdapter):
    """Jina takes `dimensions` and `top_n` as OpenAI and Cohere name them, and answers rerank under `results`."""

    prefix: ClassVar[str] = "jina_ai"
    api_key_env: ClassVar[tuple[str, ...]] = ("JINA_AI_API_KEY", "JINA_AI_TOKEN")
    api_base_env: ClassVar[tuple[str, ...]] = ("JINA_AI_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.jina.ai/v1"
    embedding_params: ClassVar[frozenset[str]] = frozenset(
        {"task", "late_chunking", "normalized", "truncate"})

    def base_url(self, target: Target) -> str:
        """A configured base may end at the host or at `/v1`."""
        base = (target.api_base or self.default_api_base).rstrip("/")
        return base if base.endswith("/v1") else f"{base}/v1"
