"""LiteLLM config features through the real gateway process: unsupported providers, retry_policy."""
from __future__ import annotations

from typing import Any

import httpx

from apps.routing.models import Deployment, RouterSettings
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

MSG = [{"role": "user", "content": "hello"}]


def test_a_deployment_of_an_unsupported_provider_is_listed_and_its_calls_get_400(
        transactional_db: None, http: httpx.Client) -> None:
    Deployment.objects.create(model_name="elsewhere", provider="madeupcloud", provider_model="some-model")
    assert "elsewhere" in [m["id"] for m in http.get("/v1/models").json()["data"]]
    response = http.post("/v1/chat/completions", json={"model": "elsewhere", "messages": MSG})
    assert response.status_code == 400
    assert response.json() == {"error": {
        "message": "The model `elsewhere` is served by provider 'madeupcloud', which Tollgate does not support; "
                   "use a supported provider in its deployment.",
        "type": "invalid_request_error", "param": "model", "code": "unsupported_provider"}}
