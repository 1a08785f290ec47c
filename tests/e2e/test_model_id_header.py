"""`x-litellm-model-id` and spend rows name a deployment as LiteLLM does (its model_info.id, from config or
/model/new), while cooldowns, latency stats and health probes stay keyed by the deployment's row number."""
from __future__ import annotations

from decimal import Decimal

import httpx

from apps.routing.models import DeploymentHealth, RouterSettings
from apps.routing.tasks import deployment_health_probe_task
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

MSG = [{"role": "user", "content": "hello"}]
RATE_LIMITED = Reply.json(429, {"error": {"message": "slow down", "type": "rate_limit_error"}})


def named_pair(upstream_model):
    """`first` (cheaper, tried first by cost-based routing) and `second`, each with a model_info.id."""
    RouterSettings.objects.update_or_create(pk=1, defaults={"routing_strategy": "cost-based", "num_retries": 1,
                                                            "settings": {"cooldown_time": 60}})
    first = upstream_model(provider_model="first", input_cost_per_token=Decimal("0.000001"),
                           config_id="gpt-primary", model_info={"id": "gpt-primary"})
    second = upstream_model(provider_model="second", input_cost_per_token=Decimal("0.00001"),
                            config_id="gpt-secondary", model_info={"id": "gpt-secondary"})
    return first, second


def test_the_header_and_spend_rows_name_model_info_id(upstream_model, upstream: OpenAIUpstream,
                                                      http: httpx.Client) -> None:
    first, second = named_pair(upstream_model)
    plain = upstream_model("plain-gpt", provider_model="plain")
    upstream.always_for("first", RATE_LIMITED)
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
    assert response.status_code == 200
    assert (response.headers["x-litellm-model-id"], response.headers["x-tollgate-deployment"]) == (
        "gpt-secondary", str(second.pk))
    rows = wait_for_spend_rows(2, request_id=response.headers["x-request-id"])
    assert [(row.deployment_id, row.status) for row in rows] == [("gpt-primary", "failure"),
                                                                 ("gpt-secondary", "success")]
    # Without a model_info.id the header keeps the row number.
    unnamed = http.post("/v1/chat/completions", json={"model": "plain-gpt", "messages": MSG})
    assert unnamed.headers["x-litellm-model-id"] == str(plain.pk)
    [row] = wait_for_spend_rows(1, request_id=unnamed.headers["x-request-id"])
    assert row.deployment_id == str(plain.pk)
    assert first.pk != second.pk


def test_cooldowns_and_probes_still_work_for_named_deployments(upstream_model, upstream: OpenAIUpstream,
                                                               http: httpx.Client) -> None:
    first, second = named_pair(upstream_model)
    upstream.always_for("first", RATE_LIMITED)
    statuses = [http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert upstream.models_called() == ["first", "second", "second", "second"]  # `first` cooled after its 429
    upstream.reset()
    deployment_health_probe_task.apply()
    assert sorted(upstream.models_called()) == ["first", "second"]
    assert (DeploymentHealth.objects.get(pk=first.pk).healthy, DeploymentHealth.objects.get(pk=second.pk).healthy) \
        == (True, True)
