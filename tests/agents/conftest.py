"""The agent tests' gateway (serving tests.agents.code_agents), its models on the recording OpenAI mock, and
helpers for the official a2a-sdk clients."""
from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.agents.models import Agent
from apps.agents.registry import GENERATION
from apps.core.state import state
from apps.core.secrets import encrypt
from apps.routing.models import Deployment, RouterSettings
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream

LEASE = 1.0  # a running task's lease: a task whose gateway was killed ends failed a second or so later
LEASE_ENV = {"TOLLGATE_A2A_TASK_LEASE": str(LEASE)}
PUSH_BACKOFF, PUSH_ATTEMPTS = 0.2, 4  # the test gateway retries push deliveries after 0.2 s, 0.4 s, 0.8 s
PRICE_PER_TOKEN = Decimal("0.001")  # priced-gpt: a mock answer to one word costs 0.001 x (4 + 7) tokens


@pytest.fixture(scope="session")
def agent_gateway(django_db_setup: Any, django_db_blocker: Any,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    server = GatewayProcess(log_dir=tmp_path_factory.mktemp("agents"),
                                 extra_env={"TOLLGATE_AGENT_MODULES": "tests.agents.code_agents",
                                            "TOLLGATE_A2A_PUSH_BACKOFF": str(PUSH_BACKOFF),
                                            "TOLLGATE_A2A_PUSH_ATTEMPTS": str(PUSH_ATTEMPTS),
                                            # the receivers are on 127.0.0.1 (tests/agents/test_push_targets.py
                                            # holds the refusal with it off)
                                            "TOLLGATE_A2A_PUSH_ALLOW_INTERNAL": "1", **LEASE_ENV})
    yield server
    server.stop()


@pytest.fixture
def models(transactional_db: None, upstream: OpenAIUpstream) -> OpenAIUpstream:
    """`gpt-4o` and `priced-gpt` on the recording OpenAI mock (priced-gpt costs 0.001 USD per token)."""
    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    for name, price in (("gpt-4o", None), ("priced-gpt", PRICE_PER_TOKEN)):
        Deployment.objects.create(model_name=name, provider="openai", provider_model="gpt-4o-2024-08-06",
                                  api_base=upstream.api_base, api_key_encrypted=encrypt("sk-upstream-secret"),
                                  timeout=10, input_cost_per_token=price, output_cost_per_token=price)
    return upstream


MODEL_FIELDS = ("rpm_limit", "allowed_teams", "allowed_keys", "enabled")


def hosted(name: str, *, model: str = "gpt-4o", prompt: str = "You are helpful.", **params: Any) -> Agent:
    """A hosted agent row as the admin makes one (`rpm_limit`, `allowed_*` and `enabled` are its columns)."""
    columns = {field: params.pop(field) for field in MODEL_FIELDS if field in params}
    return Agent.objects.create(agent_name=name, kind="hosted", description=f"{name} (hosted)",
                                litellm_params={"model": model, "system_prompt": prompt, **params},
                                agent_card_params={"name": name, "description": f"{name} (hosted)"}, **columns)


@pytest.fixture(autouse=True)
def fresh_agent_table() -> Iterator[None]:
    """The gateway process rereads its agents after each test's rows are flushed (a flush sends no signal)."""
    yield
    state().bump_generation(GENERATION)


def a2a_http(gateway: GatewayProcess, key: str = MASTER_KEY, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(headers={"Authorization": f"Bearer {key}", **headers}, timeout=30)


def rpc(method: str, params: Any, request_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def wait_until(check: Any, *, timeout: float = 15.0) -> Any:
    """Poll `check()` until it returns something truthy (that value), or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.05)
