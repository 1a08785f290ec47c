"""Deployments without api_base / api_key / api_version take them from the provider's standard variables, in
the gateway process, as LiteLLM's proxy does; nothing read from the environment is written to the database."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from apps.providers.registry import ADAPTERS
from apps.routing.config import parse_config
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams import anthropic, azure
from tests.upstreams import openai as openai_mock
from tests.upstreams.gateway import GatewayUpstream

CONFIG = {"model_list": [
    {"model_name": "env-gpt", "litellm_params": {"model": "openai/gpt-4o-2024-08-06"}},
    {"model_name": "env-claude", "litellm_params": {"model": "claude-sonnet-4-20250514"}},  # bare, as LiteLLM writes it
    {"model_name": "env-azure", "litellm_params": {"model": "azure/gpt4o-prod"}},
    {"model_name": "own-key-gpt", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-own-key"}},
], "router_settings": {"num_retries": 0}}


@dataclass(frozen=True)
class EnvGateway:
    server: GatewayProcess
    openai: GatewayUpstream
    anthropic: GatewayUpstream
    azure: GatewayUpstream


@pytest.fixture
def env_gateway(transactional_db: None, tmp_path: Path) -> Iterator[EnvGateway]:
    from apps.routing.services import deployments_sync_from_config

    deployments_sync_from_config(config=parse_config(CONFIG, set(ADAPTERS)))
    with openai_mock.gateway_upstream() as oa, anthropic.gateway_upstream() as an, azure.gateway_upstream() as az:
        server = GatewayProcess(log_dir=tmp_path, extra_env={
            "OPENAI_BASE_URL": oa.api_base, "OPENAI_API_BASE": oa.api_base, "OPENAI_API_KEY": oa.api_key,
            "ANTHROPIC_API_BASE": an.api_base, "ANTHROPIC_BASE_URL": "", "ANTHROPIC_API_KEY": an.api_key,
            "AZURE_API_BASE": az.api_base, "AZURE_OPENAI_API_KEY": "", "AZURE_API_KEY": az.api_key,
            "AZURE_API_VERSION": "2024-06-01"})
        try:
            yield EnvGateway(server=server, openai=oa, anthropic=an, azure=az)
        finally:
            server.stop()


def chat(server: GatewayProcess, model: str) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                      json={"model": model, "messages": [{"role": "user", "content": "hello"}]}, timeout=30)


def test_config_deployments_without_base_or_key_use_the_provider_variables(env_gateway: EnvGateway) -> None:
    answers = {model: chat(env_gateway.server, model) for model in ("env-gpt", "env-claude", "env-azure")}
    assert {model: reply.status_code for model, reply in answers.items()} == {
        "env-gpt": 200, "env-claude": 200, "env-azure": 200}, {m: r.text for m, r in answers.items()}
    assert answers["env-claude"].json()["choices"][0]["message"]["content"] == "Hello from Anthropic."
    assert answers["env-azure"].json()["choices"][0]["message"]["content"] == "Hello from Azure."
    [to_openai] = env_gateway.openai.server.requests
    assert (to_openai.path, to_openai.headers["authorization"]) == ("/v1/chat/completions", "Bearer sk-upstream-e2e")
    [to_anthropic] = env_gateway.anthropic.server.requests
    assert (to_anthropic.path, to_anthropic.headers["x-api-key"]) == ("/v1/messages", anthropic.API_KEY)
    [to_azure] = env_gateway.azure.server.requests
    assert (to_azure.path, to_azure.query, to_azure.headers["api-key"]) == (
        "/openai/deployments/gpt4o-prod/chat/completions", {"api-version": ["2024-06-01"]}, azure.API_KEY)


def test_an_admin_deployment_uses_them_and_its_own_values_win(env_gateway: EnvGateway) -> None:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment

    Deployment.objects.create(model_name="admin-gpt", provider="openai", provider_model="gpt-4o", timeout=10)
    Deployment.objects.create(model_name="admin-own", provider="openai", provider_model="gpt-4o", timeout=10,
                              api_base=env_gateway.openai.api_base, api_key_encrypted=encrypt("sk-admin-own"))
    assert [chat(env_gateway.server, model).status_code for model in ("admin-gpt", "admin-own", "own-key-gpt")] == \
        [200, 200, 200]
    assert [r.headers["authorization"] for r in env_gateway.openai.server.requests] == [
        "Bearer sk-upstream-e2e", "Bearer sk-admin-own", "Bearer sk-own-key"]


def test_values_from_the_environment_are_not_stored(env_gateway: EnvGateway) -> None:
    from apps.routing.models import Deployment

    assert chat(env_gateway.server, "env-azure").status_code == 200
    stored = {row.model_name: (row.api_base, row.api_key_encrypted, row.api_key_env, row.api_version)
              for row in Deployment.objects.filter(model_name__in=("env-gpt", "env-claude", "env-azure"))}
    assert stored == {name: ("", "", "", "") for name in ("env-gpt", "env-claude", "env-azure")}
