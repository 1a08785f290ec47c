"""Perplexity's Sonar API (OpenAI-shaped; no tools, no embeddings; citations pass through)."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class PerplexityAdapter(OpenAICompatibleAdapter):
    """`perplexity/sonar-pro`: usage rides on every streamed chunk, so it is moved to a final one."""

    prefix: ClassVar[str] = "perplexity"
    api_key_env: ClassVar[tuple[str, ...]] = ("PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY")
    api_base_env: ClassVar[tuple[str, ...]] = ("PERPLEXITY_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.perplexity.ai"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "vision", "usage_in_stream"})
    unsupported_params: ClassVar[frozenset[str]] = frozenset(
        {"tools", "tool_choice", "parallel_tool_calls", "logit_bias", "logprobs", "top_logprobs"})
    sends_stream_options: ClassVar[bool] = False  # usage is always sent
