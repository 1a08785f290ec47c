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


SERVER_ERROR = Reply.json(500, {"error": {"message": "upstream broke", "type": "server_error"}})
RATE_LIMITED = Reply.json(429, {"error": {"message": "slow down", "type": "rate_limit_error"}})
BAD_REQUEST = Reply.json(400, {"error": {"message": "no", "type": "invalid_request_error"}})


def routed(settings: dict[str, Any]) -> None:
    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0, "settings": {
        "retry_backoff_base": 0.01, "retry_backoff_max": 0.05, **settings}})


def attempts_for(http: httpx.Client, upstream: OpenAIUpstream, reply: Reply) -> tuple[int, int]:
    upstream.always_for("gpt-4o-2024-08-06", reply)
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
    return response.status_code, len(upstream.models_called())


def test_retry_policy_num_retries_form_through_the_gateway(upstream_model, upstream: OpenAIUpstream,
                                                           http: httpx.Client) -> None:
    upstream_model()
    routed({"retry_policy": {"num_retries": 3}})
    assert attempts_for(http, upstream, SERVER_ERROR) == (502, 4)  # 1 try + 3 retries


def test_retry_policy_per_error_counts_through_the_gateway(upstream_model, upstream: OpenAIUpstream,
                                                           http: httpx.Client) -> None:
    upstream_model()
    routed({"retry_policy": {"RateLimitErrorRetries": 2, "BadRequestErrorRetries": 1}})
    assert attempts_for(http, upstream, RATE_LIMITED) == (429, 3)
    upstream.reset()
    assert attempts_for(http, upstream, BAD_REQUEST) == (400, 2)
    upstream.reset()
    assert attempts_for(http, upstream, SERVER_ERROR) == (502, 1)  # num_retries 0 for kinds it does not name


def test_an_embedding_mode_deployment_takes_embeddings_and_refuses_chat(upstream_model, upstream: OpenAIUpstream,
                                                                        http: httpx.Client) -> None:
    upstream_model("vectors", provider_model="text-embedding-3-small", model_info={"mode": "embedding"})
    embedded = http.post("/v1/embeddings", json={"model": "vectors", "input": "hi"})
    assert embedded.status_code == 200
    chat = http.post("/v1/chat/completions", json={"model": "vectors", "messages": MSG})
    assert (chat.status_code, chat.json()) == (400, {"error": {
        "message": "The model `vectors` has model_info.mode embedding and is not served on /v1/chat/completions.",
        "type": "invalid_request_error", "param": "model", "code": "model_mode_mismatch"}})
    assert len(upstream.requests) == 1
