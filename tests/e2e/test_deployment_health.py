"""GET /health: each deployment's latest probe, healthy or unhealthy with the error; master key only."""
from __future__ import annotations

import httpx

from apps.routing.models import DeploymentHealth
from apps.routing.tasks import deployment_health_probe_task
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply


def test_health_lists_probed_deployments(upstream_model, upstream: OpenAIUpstream, http: httpx.Client) -> None:
    good = upstream_model(provider_model="good")
    bad = upstream_model(provider_model="bad")
    pricey = upstream_model(provider_model="pricey", model_info={"expensive": True})
    upstream.always_for("bad", Reply.json(503, {"error": {"message": "down for maintenance"}}))

    deployment_health_probe_task.apply()

    assert sorted(upstream.models_called()) == ["bad", "good"]
    assert upstream.requests[0].json()["max_tokens"] == 1
    assert DeploymentHealth.objects.get(pk=bad.pk).consecutive_failures == 1
    body = http.get("/health").json()
    assert (body["healthy_count"], body["unhealthy_count"]) == (1, 1)
    assert body["healthy_endpoints"][0]["model_id"] == str(good.pk)
    assert body["healthy_endpoints"][0]["latency_ms"] > 0
    unhealthy = body["unhealthy_endpoints"][0]
    assert (unhealthy["model_id"], unhealthy["error"], unhealthy["status_code"]) == \
        (str(bad.pk), "down for maintenance", 503)
    assert [e["model_id"] for e in body["unchecked_endpoints"]] == [str(pricey.pk)]
    assert "sk-upstream-secret" not in http.get("/health").text


def test_health_needs_the_master_key(gateway) -> None:
    assert httpx.get(f"{gateway.url}/health").status_code == 401
    assert httpx.get(f"{gateway.url}/health", headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
