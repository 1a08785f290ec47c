"""Hugging Face Inference Providers router and TGI endpoints (OpenAI-compatible chat)."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class HuggingFaceAdapter(OpenAICompatibleAdapter):
    """`huggingface/meta-llama/Llama-3.3-70B-Instruct[:provider]`; a TGI endpoint via api_base ending in /v1."""

    prefix: ClassVar[str] = "huggingface"
    api_key_env: ClassVar[tuple[str, ...]] = ("HF_TOKEN", "HUGGINGFACE_API_KEY")
    api_base_env: ClassVar[tuple[str, ...]] = ()
    default_api_base: ClassVar[str] = "https://router.huggingface.co/v1"
    # The router's OpenAI-compatible surface is chat only; embeddings use a different (non-OpenAI) API.
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "tools", "vision", "usage_in_stream"})
