"""Fireworks AI's OpenAI-compatible inference API."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamRequest

MODEL_NAMESPACE = "accounts/fireworks/models/"


def fireworks_model(name: str) -> str:
    """Full Fireworks model path: a bare `llama-v3p1-8b-instruct` is a public Fireworks model."""
    return name if "/" in name else f"{MODEL_NAMESPACE}{name}"


class FireworksAIAdapter(OpenAICompatibleAdapter):
    """`fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct` (or the bare model name)."""

    prefix: ClassVar[str] = "fireworks_ai"
    api_key_env: ClassVar[tuple[str, ...]] = ("FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY", "FIREWORKSAI_API_KEY",
                                               "FIREWORKS_AI_TOKEN")
    api_base_env: ClassVar[tuple[str, ...]] = ("FIREWORKS_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.fireworks.ai/inference/v1"
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream"})

    def chat_body(self, call: ChatCall, target: Target) -> dict[str, Any]:
        body = super().chat_body(call, target)
        body["model"] = fireworks_model(target.model)
        return body

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        return super().translate_embedding_request(call, replace(target, model=fireworks_model(target.model)))
