"""Missing api_base / api_key / api_version come from the provider's standard variables (LiteLLM's names)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from apps.providers import completion
from apps.providers.base import Target
from apps.providers.env_defaults import env_names, with_env_defaults
from apps.routing.snapshot import build_table
from tests.upstreams import azure

MSG = [{"role": "user", "content": "hello"}]


def test_each_missing_field_is_filled_from_the_first_variable_set() -> None:
    environ = {"OPENAI_BASE_URL": "", "OPENAI_API_BASE": "http://second/v1", "OPENAI_API_KEY": "sk-env"}
    target = with_env_defaults(Target(provider="openai", model="gpt-4o"), environ)
    assert (target.api_base, target.api_key, target.api_version) == ("http://second/v1", "sk-env", None)
    environ["OPENAI_BASE_URL"] = "http://first/v1"
    assert with_env_defaults(Target(provider="openai", model="gpt-4o"), environ).api_base == "http://first/v1"


def test_values_the_call_gives_win() -> None:
    environ = {"AZURE_API_BASE": "http://env", "AZURE_API_KEY": "env-key", "AZURE_API_VERSION": "2024-06-01"}
    given = Target(provider="azure", model="d", api_base="http://own", api_key="own-key", api_version="v1")
    assert with_env_defaults(given, environ) is given
    filled = with_env_defaults(Target(provider="azure", model="d", api_key="own-key"), environ)
    assert (filled.api_base, filled.api_key, filled.api_version) == ("http://env", "own-key", "2024-06-01")


def test_no_provider_reads_another_ones_variables() -> None:
    environ = {"OPENAI_API_KEY": "sk-openai", "OPENAI_API_BASE": "http://openai/v1"}
    for provider in ("anthropic", "azure", "groq", "gemini", "bedrock", "mock"):
        target = Target(provider=provider, model="m")
        assert with_env_defaults(target, environ) is target, provider


def test_a_provider_without_an_adapter_has_no_variables() -> None:
    assert env_names("not-a-provider") == {}
    target = Target(provider="not-a-provider", model="m")
    assert with_env_defaults(target, {"OPENAI_API_KEY": "sk"}) is target


@pytest.mark.parametrize(("provider", "field", "names"), [
    pytest.param("openai", "api_base", ("OPENAI_BASE_URL", "OPENAI_API_BASE"), id="openai_base_case"),
    pytest.param("anthropic", "api_base", ("ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"), id="anthropic_base_case"),
    pytest.param("azure", "api_key", ("AZURE_OPENAI_API_KEY", "AZURE_API_KEY"), id="azure_key_case"),
    pytest.param("azure", "api_version", ("AZURE_API_VERSION",), id="azure_version_case"),
    pytest.param("gemini", "api_base", ("GEMINI_API_BASE",), id="gemini_base_case"),
    pytest.param("cohere", "api_base", ("COHERE_API_BASE",), id="cohere_base_case"),
    pytest.param("ollama", "api_base", ("OLLAMA_API_BASE",), id="ollama_base_case"),
    pytest.param("groq", "api_base", ("GROQ_API_BASE",), id="groq_base_case"),
])
def test_litellm_variable_names(provider: str, field: str, names: tuple[str, ...]) -> None:
    assert env_names(provider)[field] == names


def test_the_routing_snapshot_resolves_them_when_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env")
    monkeypatch.setenv("ANTHROPIC_API_BASE", "http://anthropic.env")
    rows = [SimpleNamespace(pk=pk, model_name=name, provider=provider, provider_model="m", api_base="",
                            api_key_env="", api_key_encrypted="", api_version="", timeout=None, weight=1.0, rpm=None,
                            tpm=None, input_cost_per_token=None, output_cost_per_token=None, litellm_params={},
                            model_info={})
            for pk, name, provider in ((1, "claude", "anthropic"), (2, "later", "provider-added-later"))]
    table = build_table(rows, {})
    [claude], [later] = table.groups["claude"], table.groups["later"]
    assert (claude.target.api_base, claude.target.api_key) == ("http://anthropic.env", "sk-ant-env")
    assert (later.target.api_base, later.target.api_key) == (None, None)


def test_sdk_azure_call_takes_base_key_and_version_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    with azure.server() as upstream:
        monkeypatch.setenv("AZURE_API_BASE", upstream.url)
        monkeypatch.setenv("AZURE_API_KEY", azure.API_KEY)
        monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("AZURE_API_VERSION", "2024-08-01-preview")
        reply = completion(model="azure/gpt4o-prod", messages=MSG)
        [seen] = upstream.requests
    assert reply.choices[0].message.content == "Hello from Azure."
    assert (seen.path, seen.query, seen.headers["api-key"]) == (
        "/openai/deployments/gpt4o-prod/chat/completions", {"api-version": ["2024-08-01-preview"]}, azure.API_KEY)


def test_bedrock_endpoint_param_wins_over_its_variable() -> None:
    from apps.providers.registry import adapter_for

    environ = {"AWS_BEDROCK_RUNTIME_ENDPOINT": "http://bedrock.env"}
    bedrock = adapter_for("bedrock")
    from_env = with_env_defaults(Target(provider="bedrock", model="m"), environ)
    own = with_env_defaults(Target(provider="bedrock", model="m",
                                   extra={"aws_bedrock_runtime_endpoint": "http://own"}), environ)
    assert (bedrock.endpoint(from_env), bedrock.endpoint(own)) == ("http://bedrock.env", "http://own")  # type: ignore[attr-defined]
