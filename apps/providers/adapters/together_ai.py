"""Together AI's OpenAI-compatible API."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class TogetherAIAdapter(OpenAICompatibleAdapter):
    """`together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo`; usage arrives on the last content chunk."""

    prefix: ClassVar[str] = "together_ai"
    api_key_env: ClassVar[tuple[str, ...]] = ("TOGETHER_API_KEY", "TOGETHER_AI_API_KEY", "TOGETHERAI_API_KEY",
                                               "TOGETHER_AI_TOKEN")
    api_base_env: ClassVar[tuple[str, ...]] = ("TOGETHER_AI_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.together.xyz/v1"
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream"})
