"""Model prefixes to adapter classes, imported lazily on first use."""
from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from apps.providers.base import ProviderAdapter

ADAPTERS: dict[str, str] = {
    "mock": "apps.providers.adapters.mock.MockAdapter",
    "openai": "apps.providers.adapters.openai.OpenAIAdapter",
    "anthropic": "apps.providers.adapters.anthropic.AnthropicAdapter",
    "bedrock": "apps.providers.adapters.bedrock.BedrockAdapter",
}


class UnknownProvider(LookupError):
    """A model string names a provider prefix no adapter serves."""


@cache
def adapter_for(prefix: str) -> ProviderAdapter:
    """The shared (stateless) adapter instance for a prefix."""
    try:
        path = ADAPTERS[prefix]
    except KeyError:
        raise UnknownProvider(f"unknown provider {prefix!r}; known: {', '.join(sorted(ADAPTERS))}") from None
    adapter: ProviderAdapter = import_string(path)()
    return adapter


def split_model(model: str, default_provider: str = "openai") -> tuple[str, str]:
    """`"anthropic/claude-x"` -> `("anthropic", "claude-x")`; a bare name uses the default provider."""
    prefix, sep, rest = model.partition("/")
    if sep and prefix in ADAPTERS:
        return prefix, rest
    return default_provider, model


def resolve(model: str) -> tuple[ProviderAdapter, str]:
    """The adapter and the provider-side model name for a `provider/model` string."""
    prefix, name = split_model(model)
    return adapter_for(prefix), name
