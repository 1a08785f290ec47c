"""Missing api_base / api_key / api_version come from the provider's standard variables (LiteLLM's names)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from apps.providers import completion
from apps.providers.aws_auth import aws_region
from apps.providers.base import Target
from apps.providers.env_defaults import env_names, extra_env_names, with_env_defaults
from apps.routing.snapshot import build_table
from tests.upstreams import azure, bedrock
from tests.upstreams.vertex_ai import STATIC_TOKEN, VertexUpstream

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


VERTEX_ENV = {"VERTEXAI_PROJECT": "acme-prod", "VERTEXAI_LOCATION": "us-east5", "VERTEX_LOCATION": "europe-west4",
              "VERTEXAI_CREDENTIALS": "/etc/gcp/sa.json"}


def test_vertex_project_location_and_credentials_come_from_litellm_variables() -> None:
    target = with_env_defaults(Target(provider="vertex_ai", model="gemini-2.5-pro", extra={"safety": 1}), VERTEX_ENV)
    assert target.extra == {"safety": 1, "vertex_project": "acme-prod", "vertex_location": "us-east5",
                            "vertex_credentials": "/etc/gcp/sa.json"}
    second = with_env_defaults(Target(provider="vertex_ai", model="m"), {"VERTEX_LOCATION": "europe-west4"})
    assert second.extra == {"vertex_location": "europe-west4"}
    assert extra_env_names("vertex_ai") == {"vertex_project": ("VERTEXAI_PROJECT",),
                                            "vertex_location": ("VERTEXAI_LOCATION", "VERTEX_LOCATION"),
                                            "vertex_credentials": ("VERTEXAI_CREDENTIALS",)}


def test_vertex_options_given_under_either_litellm_name_win() -> None:
    given = {"vertex_ai_project": "own", "vertex_location": "asia-east1", "vertex_ai_credentials": "{}"}
    target = with_env_defaults(Target(provider="vertex_ai", model="m", extra=given), VERTEX_ENV)
    assert target.extra == {**given, "vertex_project": "own", "vertex_credentials": "{}"}
    assert with_env_defaults(Target(provider="gemini", model="m"), VERTEX_ENV).extra == {}


@pytest.mark.parametrize(("environ", "region"), [
    pytest.param({"AWS_REGION_NAME": "eu-west-3", "AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1"},
                 "eu-west-3", id="region_name_case"),
    pytest.param({"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1"}, "us-east-2", id="region_case"),
    pytest.param({"AWS_DEFAULT_REGION": "us-west-1"}, "us-west-1", id="default_region_case"),
    pytest.param({}, "us-east-1", id="none_case")])
def test_bedrock_region_variables_in_litellm_order(environ: dict[str, str], region: str) -> None:
    target = with_env_defaults(Target(provider="bedrock", model="anthropic.claude-3"), environ)
    assert aws_region(target.extra, model=target.model, environ={}) == region


@pytest.mark.parametrize("provider", ["sagemaker", "sagemaker_chat"])
def test_sagemaker_takes_the_region_from_the_variables_too(provider: str) -> None:
    target = with_env_defaults(Target(provider=provider, model="my-endpoint"), {"AWS_REGION_NAME": "eu-west-3"})
    assert aws_region(target.extra, environ={}) == "eu-west-3"


def test_a_given_region_and_an_arn_region_beat_the_variables() -> None:
    environ = {"AWS_REGION_NAME": "eu-west-3"}
    arn = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/apac.x"
    from_arn = with_env_defaults(Target(provider="bedrock", model=arn), environ)
    assert aws_region(from_arn.extra, model=arn, environ={}) == "ap-south-1"
    given = with_env_defaults(Target(provider="bedrock", model=arn, extra={"aws_region_name": "us-west-2"}), environ)
    assert aws_region(given.extra, model=arn, environ={}) == "us-west-2"


def test_the_routing_snapshot_resolves_provider_options_when_built(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**VERTEX_ENV, "AWS_REGION_NAME": "eu-west-3"}.items():
        monkeypatch.setenv(name, value)
    rows = [SimpleNamespace(pk=pk, model_name=name, provider=provider, provider_model="m", api_base="",
                            api_key_env="", api_key_encrypted="", api_version="", timeout=None, weight=1.0, rpm=None,
                            tpm=None, input_cost_per_token=None, output_cost_per_token=None, litellm_params=params,
                            model_info={})
            for pk, name, provider, params in ((1, "gem", "vertex_ai", {"vertex_project": "own"}),
                                               (2, "claude", "bedrock", {}))]
    table = build_table(rows, {})
    monkeypatch.setenv("AWS_REGION_NAME", "changed-later")
    [gem], [claude] = table.groups["gem"], table.groups["claude"]
    assert gem.target.extra == {"vertex_project": "own", "vertex_location": "us-east5",
                                "vertex_credentials": "/etc/gcp/sa.json"}
    assert aws_region(claude.target.extra, model="m") == "eu-west-3"


def test_sdk_vertex_call_takes_project_and_location_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEXAI_PROJECT", "acme-prod")
    monkeypatch.setenv("VERTEX_LOCATION", "us-east5")
    monkeypatch.delenv("VERTEXAI_LOCATION", raising=False)
    with VertexUpstream() as upstream:
        reply = completion(model="vertex_ai/gemini-2.5-pro", messages=MSG, api_base=upstream.url,
                           api_key=STATIC_TOKEN)
        [seen] = upstream.requests
    assert seen.path == "/v1/projects/acme-prod/locations/us-east5/publishers/google/models/gemini-2.5-pro" \
        ":generateContent"
    assert reply.choices[0].message.content == "echo: hello"


def test_sdk_bedrock_call_signs_for_the_region_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    bedrock.credentials_env(monkeypatch, AWS_REGION_NAME="eu-west-3", AWS_REGION="us-east-1")
    with bedrock.gateway_upstream() as upstream:
        monkeypatch.setenv("AWS_BEDROCK_RUNTIME_ENDPOINT", upstream.api_base)
        reply = completion(model="bedrock/anthropic.claude-3-sonnet-20240229-v1:0", messages=MSG)
        [seen] = upstream.server.requests  # the twin verified the SigV4 signature for the scope's region
    assert reply.choices[0].message.content == "Hello from Bedrock."
    assert "/eu-west-3/bedrock/aws4_request" in seen.headers["authorization"]
