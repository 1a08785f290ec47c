"""The built-in offline provider: OpenAI wire format, answered in-process by `mock_upstream`."""
from __future__ import annotations

from typing import Any, ClassVar

from apps.providers.adapters.openai import MEDIA_FEATURES, OpenAIAdapter
from apps.providers.base import ChatCall, Target

MOCK_API_BASE = "http://mock.tollgate.internal/v1"


class MockAdapter(OpenAIAdapter):
    """Sends real OpenAI requests through the real transport to an in-process upstream."""

    prefix: ClassVar[str] = "mock"
    default_api_base: ClassVar[str] = MOCK_API_BASE
    api_key_env: ClassVar[tuple[str, ...]] = ()
    api_base_env: ClassVar[tuple[str, ...]] = ()
    # Chat and embeddings only: the in-process upstream answers no images or audio.
    features: ClassVar[frozenset[str]] = OpenAIAdapter.features - set(MEDIA_FEATURES)

    def chat_body(self, call: ChatCall, target: Target) -> dict[str, Any]:
        body = super().chat_body(call, target)
        # LiteLLM's `mock_response` deployment parameter fixes the answer text.
        if "mock_response" in target.extra and "mock_response" not in body:
            body["mock_response"] = target.extra["mock_response"]
        return body
