"""LM Studio's local OpenAI-compatible server."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class LMStudioAdapter(OpenAICompatibleAdapter):
    """`lm_studio/<loaded-model>`; no key needed by default."""

    prefix: ClassVar[str] = "lm_studio"
    api_key_env: ClassVar[tuple[str, ...]] = ("LM_STUDIO_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("LM_STUDIO_API_BASE",)
    default_api_base: ClassVar[str] = "http://localhost:1234/v1"
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream"})
