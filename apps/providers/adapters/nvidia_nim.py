"""NVIDIA NIM (hosted at integrate.api.nvidia.com or self-hosted), OpenAI-compatible."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter


class NvidiaNIMAdapter(OpenAICompatibleAdapter):
    """`nvidia_nim/meta/llama-3.1-70b-instruct`; embeddings for NIM embedding models (`input_type` passes through)."""

    prefix: ClassVar[str] = "nvidia_nim"
    api_key_env: ClassVar[tuple[str, ...]] = ("NVIDIA_NIM_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("NVIDIA_NIM_API_BASE",)
    default_api_base: ClassVar[str] = "https://integrate.api.nvidia.com/v1"
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream"})
