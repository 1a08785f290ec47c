"""A model named without a provider prefix goes to the provider that serves it, as LiteLLM resolves it."""
from __future__ import annotations

import pytest

from apps.providers import completion
from apps.providers.pricing import bare_model_providers
from apps.providers.registry import ADAPTERS, provider_for_bare, split_model
from apps.routing.config import parse_config
from tests.upstreams import anthropic

MSG = [{"role": "user", "content": "Hello!"}]


@pytest.mark.parametrize(("model", "provider"), [
    pytest.param("gpt-4o", "openai", id="gpt_listed_under_openai_and_azure_case"),
    pytest.param("gpt-5-pro-2099", "openai", id="gpt_unlisted_case"),
    pytest.param("o1", "openai", id="o1_case"),
    pytest.param("o3-mini", "openai", id="o3_case"),
    pytest.param("o4-mini-deep-research", "openai", id="o4_unlisted_case"),
    pytest.param("text-embedding-3-large", "openai", id="openai_embedding_case"),
    pytest.param("dall-e-3", "openai", id="dall_e_case"),
    pytest.param("claude-sonnet-4-20250514", "anthropic", id="claude_listed_case"),
    pytest.param("claude-3-5-sonnet", "anthropic", id="claude_unlisted_case"),
    pytest.param("gemini-2.5-pro", "gemini", id="gemini_listed_case"),
    pytest.param("gemini-3-flash-preview", "gemini", id="gemini_unlisted_case"),
    pytest.param("text-embedding-004", "gemini", id="google_embedding_listed_case"),
    pytest.param("command-r-plus", "cohere", id="command_listed_case"),
    pytest.param("command-light", "cohere", id="command_unlisted_case"),
    pytest.param("embed-english-v3.0", "cohere", id="cohere_embedding_case"),
    pytest.param("mistral-large-latest", "mistral", id="mistral_listed_case"),
    pytest.param("codestral-2501", "mistral", id="codestral_case"),
    pytest.param("deepseek-reasoner", "deepseek", id="deepseek_case"),
    pytest.param("grok-4", "xai", id="grok_case"),
    pytest.param("anthropic.claude-3-sonnet-20240229-v1:0", "bedrock", id="bedrock_id_case"),
    pytest.param("us.anthropic.claude-sonnet-4-20250514-v1:0", "bedrock", id="bedrock_profile_case"),
    pytest.param("llama3.2", "openai", id="unknown_goes_to_openai_case"),
    pytest.param("*", "openai", id="wildcard_case"),
])
def test_bare_name_names_its_provider(model: str, provider: str) -> None:
    assert split_model(model) == (provider, model)


def test_prefixed_names_keep_their_prefix() -> None:
    assert split_model("azure/gpt-4o") == ("azure", "gpt-4o")
    assert split_model("openai/claude-on-vllm") == ("openai", "claude-on-vllm")
    assert split_model("openai/meta-llama/Llama-3.1-8B") == ("openai", "meta-llama/Llama-3.1-8B")


UNKNOWN_PREFIX = ("Provider 'meta-llama' in 'meta-llama/Llama-3.1-8B' is not supported by Tollgate (LiteLLM: LLM "
                  "Provider NOT provided); for an OpenAI-compatible server write openai/meta-llama/Llama-3.1-8B")


def test_an_unknown_prefix_is_an_sdk_bad_request_naming_the_provider() -> None:
    import openai

    from apps.providers import completion

    with pytest.raises(openai.BadRequestError) as caught:
        completion(model="meta-llama/Llama-3.1-8B", messages=[{"role": "user", "content": "hi"}],
                   api_base="http://127.0.0.1:9/v1")
    assert (caught.value.status_code, caught.value.code, str(caught.value)) == (400, "unsupported_provider",
                                                                                UNKNOWN_PREFIX)


def test_the_config_reads_an_unknown_prefix_by_the_same_rule(tmp_path) -> None:
    from apps.routing.config import load_config_file

    path = tmp_path / "config.yaml"
    path.write_text("model_list:\n  - model_name: llama\n    litellm_params: {model: meta-llama/Llama-3.1-8B}\n")
    config = load_config_file(path, set(ADAPTERS))
    assert (config.deployments[0].provider, config.deployments[0].provider_model) == ("meta-llama", "Llama-3.1-8B")
    assert config.warnings == (f"line 3: model_list[0]: {UNKNOWN_PREFIX[0].lower()}{UNKNOWN_PREFIX[1:]}; the "
                               f"deployment is kept and calls to it get 400",)


def test_a_pattern_for_a_provider_without_an_adapter_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    provider_for_bare.cache_clear()
    monkeypatch.delitem(ADAPTERS, "xai")
    try:
        assert provider_for_bare("grok-4") == "openai"
    finally:
        provider_for_bare.cache_clear()


def test_the_table_lists_each_bare_name_once_first_provider_wins() -> None:
    table = bare_model_providers()
    assert (table["gpt-4o"], table["gemini-2.5-pro"], table["claude-opus-4-1"]) == ("openai", "gemini", "anthropic")
    assert "llama-3.3-70b-versatile" not in table  # groq's names are not served bare
    assert set(table.values()) <= set(ADAPTERS)


def test_config_reads_a_bare_model_as_litellm_does() -> None:
    config = parse_config({"model_list": [
        {"model_name": "sonnet", "litellm_params": {"model": "claude-3-5-sonnet"}},
        {"model_name": "flash", "litellm_params": {"model": "gemini-2.5-flash"}},
        {"model_name": "gpt", "litellm_params": {"model": "gpt-4o"}},
    ]}, set(ADAPTERS))
    assert [(d.provider, d.provider_model) for d in config.deployments] == [
        ("anthropic", "claude-3-5-sonnet"), ("gemini", "gemini-2.5-flash"), ("openai", "gpt-4o")]


def test_sdk_sends_a_bare_claude_name_to_anthropic() -> None:
    with anthropic.gateway_upstream() as upstream:
        reply = completion(model="claude-sonnet-4-20250514", messages=MSG, api_base=upstream.api_base,
                           api_key=upstream.api_key)
        [seen] = upstream.server.requests
    assert reply.choices[0].message.content == "Hello from Anthropic."
    assert (seen.path, seen.json()["model"]) == ("/v1/messages", "claude-sonnet-4-20250514")
