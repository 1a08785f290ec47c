"""DeepSeek's OpenAI-compatible API; `reasoning_content` passes through in answers and deltas."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from apps.providers.adapters.openai import usage_from_openai
from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter
from apps.providers.base import Usage


class DeepSeekAdapter(OpenAICompatibleAdapter):
    """`deepseek/deepseek-chat`, `deepseek/deepseek-reasoner` (chat only, no vision or embeddings).

    Assistant messages keep their `reasoning_content` on the way in: DeepSeek's thinking mode needs it
    passed back for turns that called tools.
    """

    prefix: ClassVar[str] = "deepseek"
    api_key_env: ClassVar[tuple[str, ...]] = ("DEEPSEEK_API_KEY",)
    api_base_env: ClassVar[tuple[str, ...]] = ("DEEPSEEK_API_BASE",)
    default_api_base: ClassVar[str] = "https://api.deepseek.com/v1"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "tools", "usage_in_stream"})

    def usage_from(self, raw: Mapping[str, Any] | None) -> Usage:
        usage = usage_from_openai(raw)
        if raw and not usage.cached_tokens and raw.get("prompt_cache_hit_tokens"):
            # DeepSeek's own field for context-cache hits, billed at the cache price.
            usage = replace(usage, cached_tokens=int(raw["prompt_cache_hit_tokens"]))
        return usage
