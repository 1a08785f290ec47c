"""xAI's OpenAI-compatible API (Grok); reasoning models return `reasoning_content`."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class XAIAdapter(OpenAICompatibleAdapter):
    """`xai/grok-4`, `xai/grok-3-mini` (no embeddings endpoint)."""

    prefix: ClassVar[str] = "xai"
    api_key_env: ClassVar[tuple[str, ...]] = ("XAI_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("XAI_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.x.ai/v1"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "tools", "vision", "usage_in_stream"})
