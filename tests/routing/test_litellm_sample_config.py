"""LiteLLM's sample proxy config shape loads without a warning: every provider and key it uses is one Tollgate acts on."""
from __future__ import annotations

from pathlib import Path

from apps.providers.registry import ADAPTERS
from apps.routing.config import load_config_file

SAMPLE = Path(__file__).parent / "fixtures" / "litellm_sample_proxy_config.yaml"


def test_sample_config_loads_with_every_provider_and_key_known() -> None:
    config = load_config_file(SAMPLE, set(ADAPTERS))
    assert config.warnings == ()
    assert [(spec.provider, spec.provider_model) for spec in config.deployments] == [
        ("openai", "gpt-4o-mini"), ("openai", "gpt-4.1-mini"), ("openai", "gpt-4.1-mini"),
        ("sagemaker", "jumpstart-dft-llama-2-70b-chat"), ("sagemaker_chat", "hf-tgi-qwen-endpoint"),
        ("openai", "text-embedding-ada-002"), ("openai", "my-placeholder-model"), ("openai", "*"),
        ("anthropic", "*"), ("bedrock", "*"), ("groq", "*"), ("mistral", "mistral-embed"),
        ("text-completion-openai", "gpt-3.5-turbo-instruct"), ("gemini", "gemini-1.5-flash"),
        ("replicate", "meta/meta-llama-3-8b-instruct"), ("voyage", "voyage-3.5"),
        ("jina_ai", "jina-reranker-v2-base-multilingual")]
    sagemaker = config.deployments[3]
    assert (sagemaker.litellm_params["aws_region_name"], sagemaker.litellm_params["input_cost_per_second"]) == (
        "us-west-2", 0.00042)


def test_a_provider_no_adapter_serves_would_be_warned() -> None:
    served = set(ADAPTERS) - {"sagemaker", "replicate"}
    config = load_config_file(SAMPLE, served)
    assert [warning.split(": ", 2)[2].split(" in ")[0] for warning in config.warnings] == [
        "provider 'sagemaker'", "provider 'replicate'"]
