"""The config LiteLLM's introduction shows (tests/routing/fixtures/configs/litellm_introduction.yaml), loaded as
written and served: latency-based routing, retries from retry_policy, fallbacks gpt-4o -> claude-sonnet, and
the proxy's monthly budget of 1000 USD, and its teams."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from apps.core.secrets import encrypt
from apps.providers.registry import ADAPTERS
from apps.routing.config import load_config_file
from apps.routing.models import Deployment, RouterSettings
from apps.routing.snapshot import load_routing_table
from apps.teams.models import ProxyBudget, Team
from tests.conftest import free_port
from tests.teams.test_proxy_budget import lift_proxy_budget_after, refusal  # noqa: F401 - the fixture is used
from tests.upstreams import anthropic
from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

CONFIG = Path(__file__).resolve().parent.parent / "routing" / "fixtures" / "configs" / "litellm_introduction.yaml"
MSG = [{"role": "user", "content": "hello"}]
SERVER_ERROR = Reply.json(500, {"error": {"message": "upstream broke", "type": "server_error"}})


@pytest.mark.django_db  # for the imported fixture that lifts the proxy budget after each test
def test_it_loads_without_a_warning() -> None:
    config = load_config_file(CONFIG, set(ADAPTERS))
    assert config.warnings == ()
    assert [(d.model_name, d.provider, d.provider_model) for d in config.deployments] == [
        ("gpt-4o", "openai", "gpt-4o"), ("claude-sonnet", "anthropic", "claude-sonnet-4-20250514"),
        ("gpt-4o", "azure", "gpt-4o-deployment")]
    assert (config.proxy_budget.max_budget, config.proxy_budget.budget_duration) == (Decimal(1000), "monthly")


@pytest.mark.django_db
def test_it_is_stored_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_BASE", "https://example-resource.openai.azure.com")
    call_command("load_config", str(CONFIG))
    policy = load_routing_table().policy
    assert (policy.strategy, policy.num_retries, dict(policy.fallbacks)) == (
        "latency-based", 3, {"*": ("gpt-4o", "claude-sonnet")})
    assert RouterSettings.objects.get().routing_strategy == "latency-based"
    assert Deployment.objects.get(provider="azure").api_base == "https://example-resource.openai.azure.com"
    budget = ProxyBudget.objects.get()
    assert (budget.max_budget, budget.budget_duration, budget.spend) == (Decimal(1000), "monthly", Decimal(0))
    assert {t.team_id: (t.max_budget, t.allowed_models) for t in Team.objects.all()} == {
        "engineering": (Decimal(500), ["gpt-4o", "claude-sonnet"]),
        "data-science": (Decimal(1000), ["gpt-4o", "claude-sonnet", "embedding-*"])}


@pytest.fixture
def claude() -> Iterator[GatewayUpstream]:
    with anthropic.gateway_upstream() as twin:
        yield twin


@pytest.fixture
def loaded(transactional_db: None, monkeypatch: pytest.MonkeyPatch, upstream: OpenAIUpstream,
           claude: GatewayUpstream) -> None:
    """The config loaded as written; the gateway finds the upstreams where the environment would point it: OpenAI
    at the mock, Azure at a port nothing listens on (every attempt fails), Anthropic at its twin."""
    monkeypatch.setenv("AZURE_API_BASE", f"http://127.0.0.1:{free_port()}")
    call_command("load_config", str(CONFIG))
    Deployment.objects.filter(provider="openai").update(api_base=upstream.api_base,
                                                        api_key_encrypted=encrypt("sk-upstream-secret"))
    Deployment.objects.filter(provider="azure").update(api_key_encrypted=encrypt("azure-key"))
    Deployment.objects.filter(provider="anthropic").update(api_base=claude.api_base,
                                                           api_key_encrypted=encrypt(claude.api_key))
    router = RouterSettings.objects.get()
    router.settings = {**router.settings, "retry_backoff_base": 0.01, "retry_backoff_max": 0.05}  # a quick test
    router.save()


def test_gpt_4o_retries_three_times_then_falls_back_to_claude(loaded: None, upstream: OpenAIUpstream,
                                                              claude: GatewayUpstream, http: httpx.Client) -> None:
    upstream.always_for("gpt-4o", SERVER_ERROR)
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": MSG})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello from Anthropic."
    # 1 try + 3 retries (retry_policy.num_retries) on the two gpt-4o deployments, then claude-sonnet once.
    assert (response.headers["x-tollgate-attempts"], response.headers["x-litellm-attempted-fallbacks"]) == ("5", "1")
    assert 1 <= len(upstream.models_called()) <= 3 and len(claude.server.requests) == 1
    assert response.headers["x-litellm-model-id"] == Deployment.objects.get(provider="anthropic").config_id


def test_a_healthy_gpt_4o_answers_without_a_fallback(loaded: None, upstream: OpenAIUpstream,
                                                     claude: GatewayUpstream, http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": MSG})
    assert response.status_code == 200
    assert response.headers["x-litellm-model-id"] == Deployment.objects.get(provider="openai").config_id
    assert claude.server.requests == []


def test_the_proxy_budget_refuses_calls_past_1000(loaded: None, claude: GatewayUpstream, http: httpx.Client) -> None:
    ProxyBudget.objects.update(spend=Decimal(1000))  # seeded before the proxy's first call of this window
    for model in ("gpt-4o", "claude-sonnet"):
        response = http.post("/v1/chat/completions", json={"model": model, "messages": MSG})
        assert (response.status_code, response.json()) == (400, refusal("1000", "1000"))
    assert claude.server.requests == []
