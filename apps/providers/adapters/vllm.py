"""vLLM's OpenAI-compatible server (self-hosted, so there is no default endpoint); its `/rerank` (also Infinity's)."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.embedding_rerank import TokenRerank
from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class VLLMAdapter(TokenRerank, OpenAICompatibleAdapter):
    """`vllm/<served-model-name>`: chat, tools, vision, embeddings and rerank (`{api_base}/rerank`, in the
    Jina shape vLLM and Infinity serve) as the served model allows."""

    prefix: ClassVar[str] = "vllm"
    api_key_env: ClassVar[tuple[str, ...]] = ("HOSTED_VLLM_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("HOSTED_VLLM_API_BASE",)
    default_api_base: ClassVar[str] = ""  # always the operator's own server: api_base is required
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "rerank", "usage_in_stream"})


class HostedVLLMAdapter(VLLMAdapter):
    """`hosted_vllm/<model>`: LiteLLM's name for the same server, kept for config compatibility."""

    prefix: ClassVar[str] = "hosted_vllm"
