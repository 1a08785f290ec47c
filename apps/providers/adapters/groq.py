"""Groq's OpenAI-compatible API: chat, and Whisper transcriptions and translations (Groq serves no embeddings)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class GroqAdapter(OpenAICompatibleAdapter):
    """`groq/llama-3.3-70b-versatile` and friends."""

    prefix: ClassVar[str] = "groq"
    api_key_env: ClassVar[tuple[str, ...]] = ("GROQ_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("GROQ_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.groq.com/openai/v1"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "tools", "vision", "usage_in_stream",
                                                    "transcription", "translation"})
    # Groq documents these as answered with a 400.
    unsupported_params: ClassVar[frozenset[str]] = frozenset({"logprobs", "logit_bias", "top_logprobs"})

    def unsupported(self, params: Mapping[str, Any]) -> list[str]:
        names = super().unsupported(params)
        if isinstance(params.get("n"), int) and params["n"] > 1:
            names.append("n")  # Groq accepts only n=1
        return names
