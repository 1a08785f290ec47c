"""Model prefixes to adapter classes, imported lazily on first use."""
from __future__ import annotations

from functools import cache, lru_cache

from django.utils.module_loading import import_string

from apps.core.errors import InvalidRequest
from apps.providers.base import ProviderAdapter
from apps.providers.pricing import bare_model_providers

ADAPTERS: dict[str, str] = {
    "mock": "apps.providers.adapters.mock.MockAdapter",
    "openai": "apps.providers.adapters.openai.OpenAIAdapter",
    "azure": "apps.providers.adapters.azure.AzureAdapter",
    "ollama": "apps.providers.adapters.ollama.OllamaAdapter",
    "ollama_chat": "apps.providers.adapters.ollama.OllamaChatAdapter",
    "vllm": "apps.providers.adapters.vllm.VLLMAdapter",
    "hosted_vllm": "apps.providers.adapters.vllm.HostedVLLMAdapter",
    "groq": "apps.providers.adapters.groq.GroqAdapter",
    "together_ai": "apps.providers.adapters.together_ai.TogetherAIAdapter",
    "mistral": "apps.providers.adapters.mistral.MistralAdapter",
    "deepseek": "apps.providers.adapters.deepseek.DeepSeekAdapter",
    "fireworks_ai": "apps.providers.adapters.fireworks_ai.FireworksAIAdapter",
    "openrouter": "apps.providers.adapters.openrouter.OpenRouterAdapter",
    "xai": "apps.providers.adapters.xai.XAIAdapter",
    "perplexity": "apps.providers.adapters.perplexity.PerplexityAdapter",
    "lm_studio": "apps.providers.adapters.lm_studio.LMStudioAdapter",
    "huggingface": "apps.providers.adapters.huggingface.HuggingFaceAdapter",
    "cerebras": "apps.providers.adapters.cerebras.CerebrasAdapter",
    "nvidia_nim": "apps.providers.adapters.nvidia_nim.NvidiaNIMAdapter",
    "gemini": "apps.providers.adapters.gemini.GeminiAdapter",
    "vertex_ai": "apps.providers.adapters.vertex_ai.VertexAIAdapter",
    "cohere": "apps.providers.adapters.cohere.CohereAdapter",
    "anthropic": "apps.providers.adapters.anthropic.AnthropicAdapter",
    "bedrock": "apps.providers.adapters.bedrock.BedrockAdapter",
    "voyage": "apps.providers.adapters.voyage.VoyageAdapter",
    "jina_ai": "apps.providers.adapters.jina_ai.JinaAIAdapter",
    "infinity": "apps.providers.adapters.infinity.InfinityAdapter",
    "deepgram": "apps.providers.adapters.deepgram.DeepgramAdapter",
    "sagemaker": "apps.providers.adapters.sagemaker.SageMakerAdapter",
    "sagemaker_chat": "apps.providers.adapters.sagemaker.SageMakerChatAdapter",
    "replicate": "apps.providers.adapters.replicate.ReplicateAdapter",
    "text-completion-openai": "apps.providers.adapters.text_completion_openai.TextCompletionOpenAIAdapter",
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


DEFAULT_PROVIDER = "openai"
# How a bare model name names its provider when the price table does not list it: the name's start, and the
# provider serving it (as LiteLLM's table marks them). First match wins, so longer starts come first; a provider
# not in ADAPTERS is skipped.
NAME_PATTERNS: tuple[tuple[str, str], ...] = (
    ("gpt-3.5-turbo-instruct", "text-completion-openai"), ("davinci-", "text-completion-openai"),
    ("babbage-", "text-completion-openai"),
    ("gpt-", "openai"), ("chatgpt-", "openai"), ("ft:gpt-", "openai"), ("o1", "openai"), ("o3", "openai"),
    ("o4", "openai"), ("text-embedding-3", "openai"), ("text-embedding-ada", "openai"), ("dall-e-", "openai"),
    ("whisper-", "openai"), ("tts-", "openai"), ("omni-moderation", "openai"), ("text-moderation", "openai"),
    ("codex-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "gemini"),
    ("command", "cohere"), ("embed-english-", "cohere"), ("embed-multilingual-", "cohere"), ("rerank-", "cohere"),
    ("mistral-", "mistral"), ("open-mistral-", "mistral"), ("open-mixtral-", "mistral"), ("codestral-", "mistral"),
    ("pixtral-", "mistral"), ("ministral-", "mistral"), ("magistral-", "mistral"), ("devstral-", "mistral"),
    ("deepseek-chat", "deepseek"), ("deepseek-reasoner", "deepseek"),
    ("grok-", "xai"),
    ("jina-", "jina_ai"), ("voyage-", "voyage"),
    ("anthropic.", "bedrock"), ("amazon.", "bedrock"), ("meta.llama", "bedrock"), ("cohere.", "bedrock"),
    ("mistral.", "bedrock"), ("ai21.", "bedrock"), ("us.", "bedrock"), ("eu.", "bedrock"), ("apac.", "bedrock"),
    ("global.", "bedrock"),
)


@lru_cache(maxsize=4096)
def provider_for_bare(model: str) -> str:
    """The provider of a model named without a prefix: the price table's, else by name pattern, else openai.

    `claude-sonnet-4-20250514` -> anthropic, `gemini-2.5-pro` -> gemini, `command-r` -> cohere.
    """
    listed = bare_model_providers().get(model)
    if listed in ADAPTERS:
        return str(listed)
    return next((provider for start, provider in NAME_PATTERNS
                 if model.startswith(start) and provider in ADAPTERS), DEFAULT_PROVIDER)


class ProviderNotProvided(InvalidRequest):
    """`owner/model` whose `owner` is no provider Tollgate serves (LiteLLM: "LLM Provider NOT provided")."""

    code = "unsupported_provider"


def split_provider(model: str) -> tuple[str, str]:
    """The one rule, for the SDK and config files alike: `provider/model` -> (provider, model), whatever the prefix
    (as LiteLLM reads it: `meta-llama/Llama-3` names provider `meta-llama`); a bare name's provider as the price
    table and name patterns give it (`claude-*` is Anthropic's)."""
    prefix, sep, rest = model.partition("/")
    return (prefix, rest) if sep else (provider_for_bare(model), model)


def not_served(provider: str, model: str) -> str:
    """Why a model string cannot be called, naming its provider (the SDK's error, the config's warning)."""
    return (f"provider {provider!r} in {model!r} is not supported by Tollgate (LiteLLM: LLM Provider NOT provided); "
            f"for an OpenAI-compatible server write openai/{model}")


def split_model(model: str) -> tuple[str, str]:
    """`"anthropic/claude-x"` -> `("anthropic", "claude-x")`; a bare name goes to the provider it names; a prefix no
    adapter serves raises ProviderNotProvided naming it."""
    provider, name = split_provider(model)
    if provider not in ADAPTERS:
        message = not_served(provider, model)
        raise ProviderNotProvided(message[0].upper() + message[1:], param="model")
    return provider, name


def resolve(model: str) -> tuple[ProviderAdapter, str]:
    """The adapter and the provider-side model name for a `provider/model` string."""
    prefix, name = split_model(model)
    return adapter_for(prefix), name
