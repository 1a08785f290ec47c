"""The built-in offline provider: OpenAI wire format, answered in-process by `mock_upstream`."""
from __future__ import annotations

from typing import ClassVar

from apps.providers.adapters.openai import OpenAIAdapter

MOCK_API_BASE = "http://mock.tollgate.internal/v1"


class MockAdapter(OpenAIAdapter):
    """Sends real OpenAI requests through the real transport to an in-process upstream."""

    prefix: ClassVar[str] = "mock"
    default_api_base: ClassVar[str] = MOCK_API_BASE
