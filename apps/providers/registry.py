"""Model prefixes to adapter classes, imported lazily on first use."""
from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from apps.providers.base import ProviderAdapter

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
