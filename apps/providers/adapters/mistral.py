"""Mistral's La Plateforme API (OpenAI-shaped, with a few renamed parameters)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamRequest


class MistralAdapter(OpenAICompatibleAdapter):
    """`mistral/mistral-large-latest`, `mistral/mistral-embed`, `mistral/codestral-embed` (which takes
    `dimensions`, sent as Mistral's `output_dimension`)."""

    prefix: ClassVar[str] = "mistral"
    api_key_env: ClassVar[tuple[str, ...]] = ("MISTRAL_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("MISTRAL_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.mistral.ai/v1"
    features: ClassVar[frozenset[str]] = frozenset(
        {"chat", "stream", "tools", "vision", "embeddings", "usage_in_stream"})
    unsupported_params: ClassVar[frozenset[str]] = frozenset({"logit_bias", "logprobs", "top_logprobs"})
    # Mistral always puts usage on its final chunk and rejects unknown request fields.
    sends_stream_options: ClassVar[bool] = False

    def chat_body(self, call: ChatCall, target: Target) -> dict[str, Any]:
        body = super().chat_body(call, target)
        if "seed" in body:
            body["random_seed"] = body.pop("seed")  # Mistral's name for the sampling seed
        if "max_completion_tokens" in body:
            body["max_tokens"] = body.pop("max_completion_tokens")
        return body

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        params = dict(call.params)
        if params.get("dimensions") is not None:
            params["output_dimension"] = params.pop("dimensions")
        params.pop("user", None)  # Mistral refuses fields it does not know; `user` is OpenAI's alone
        return super().translate_embedding_request(replace(call, params=params), target)
