"""GET /health?model=<group>: that group's deployments are probed now, as LiteLLM's /health does."""
from __future__ import annotations

from typing import Any

import httpx

from apps.routing.models import DeploymentHealth
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply


def test_health_for_a_model_probes_that_group_now(upstream_model: Any, upstream: OpenAIUpstream,
                                                  http: httpx.Client) -> None:
    good = upstream_model(provider_model="good")
    bad = upstream_model(provider_model="bad")
    upstream_model("other-group", provider_model="elsewhere")
    upstream.always_for("bad", Reply.json(503, {"error": {"message": "down for maintenance"}}))

    body = http.get("/health", params={"model": "upstream-gpt"}).json()

    assert sorted(upstream.models_called()) == ["bad", "good"]  # the other group is not probed
    assert [r.json()["max_tokens"] for r in upstream.requests] == [1, 1]
    assert (body["healthy_count"], body["unhealthy_count"]) == (1, 1)
    assert [e["model_id"] for e in body["healthy_endpoints"]] == [str(good.pk)]
    unhealthy = body["unhealthy_endpoints"][0]
    assert (unhealthy["model_id"], unhealthy["error"], unhealthy["status_code"]) == (
        str(bad.pk), "down for maintenance", 503)
    assert sorted(DeploymentHealth.objects.values_list("deployment_id", "healthy")) == [(good.pk, True),
                                                                                       (bad.pk, False)]
    assert "sk-upstream-secret" not in http.get("/health", params={"model": "upstream-gpt"}).text


def test_health_for_an_unknown_model_lists_nothing(upstream_model: Any, upstream: OpenAIUpstream,
                                                   http: httpx.Client) -> None:
    upstream_model()
    body = http.get("/health", params={"model": "nope"}).json()
    assert body == {"healthy_endpoints": [], "unhealthy_endpoints": [], "unchecked_endpoints": [],
                    "healthy_count": 0, "unhealthy_count": 0}
    assert upstream.requests == []
