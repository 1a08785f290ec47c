"""OpenRouter: one OpenAI-compatible API in front of many providers."""
from __future__ import annotations

from typing import Any, ClassVar

from apps.providers.adapters.openai_compatible import OpenAICompatibleAdapter
from apps.providers.base import BasicStreamState, ChatChunk, ChatCompletion, Target


def with_reasoning_content(message: dict[str, Any]) -> dict[str, Any]:
    """OpenRouter names a model's reasoning `reasoning`; clients of this gateway read `reasoning_content`."""
    reasoning = message.get("reasoning")
    if isinstance(reasoning, str) and reasoning and "reasoning_content" not in message:
        return {**message, "reasoning_content": reasoning}
    return message


class OpenRouterAdapter(OpenAICompatibleAdapter):
    """`openrouter/anthropic/claude-3.5-sonnet`; optional attribution headers from `extra`."""

    prefix: ClassVar[str] = "openrouter"
    api_key_env: ClassVar[tuple[str, ...]] = ("OPENROUTER_API_KEY", "OR_API_KEY")
    api_base_env: ClassVar[tuple[str, ...]] = ("OPENROUTER_API_BASE",)
    default_api_base: ClassVar[str] = "https://openrouter.ai/api/v1"
    features: ClassVar[frozenset[str]] = frozenset({"chat", "stream", "tools", "vision", "usage_in_stream"})

    def headers(self, target: Target) -> dict[str, str]:
        headers = super().headers(target)
        # OpenRouter's app attribution: the site URL and app name shown on its rankings.
        for key, header in (("site_url", "HTTP-Referer"), ("app_name", "X-Title")):
            if target.extra.get(key) and header not in target.headers:
                headers[header] = str(target.extra[key])
        return headers

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        completion = super().parse_response(status, body, target)
        choices = [{**c, "message": with_reasoning_content(c["message"])} if isinstance(c.get("message"), dict)
                   else c for c in completion.body.get("choices") or []]
        return ChatCompletion(body={**completion.body, "choices": choices}, usage=completion.usage)

    def split_usage(self, data: dict[str, Any], state: BasicStreamState) -> list[ChatChunk]:
        choices = [{**c, "delta": with_reasoning_content(c["delta"])} if isinstance(c.get("delta"), dict)
                   else c for c in data.get("choices") or []]
        return super().split_usage({**data, "choices": choices} if "choices" in data else data, state)
