"""Cerebras Inference's OpenAI-compatible API."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class CerebrasAdapter(OpenAICompatibleAdapter):
    """`cerebras/llama-3.3-70b`, `cerebras/gpt-oss-120b` (chat only)."""

    prefix: ClassVar[str] = "cerebras"
    api_key_env: ClassVar[tuple[str, ...]] = ("CEREBRAS_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("CEREBRAS_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.cerebras.ai/v1"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "tools", "usage_in_stream"})
    # Cerebras documents these as answered with a 400.
    unsupported_params: ClassVar[frozenset[str]] = frozenset(
        {"frequency_penalty", "presence_penalty", "logit_bias", "parallel_tool_calls", "service_tier"})
