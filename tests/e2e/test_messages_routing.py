"""/v1/messages on chat's routing: failover, fallbacks from an Anthropic deployment to another provider, and upstream
failures (before and after the first byte) in Anthropic's error shape."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from apps.core import jsonutil
from tests.e2e.test_routing import SERVER_ERROR, pair, router
from tests.upstreams.anthropic import API_KEY, GATEWAY_MODEL, error_twin
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import RecordingServer, Reply

HELLO = {"max_tokens": 20, "messages": [{"role": "user", "content": "hello"}]}
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


@pytest.fixture
def overloaded_twin(transactional_db: None) -> Iterator[RecordingServer]:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment

    with error_twin(529, OVERLOADED) as twin:
        Deployment.objects.create(model_name="claude", provider="anthropic", provider_model=GATEWAY_MODEL,
                                  api_base=twin.url, api_key_encrypted=encrypt(API_KEY), timeout=10)
        yield twin


def test_a_failing_deployment_fails_over_to_the_next(upstream_model, upstream: OpenAIUpstream,
                                                     http: httpx.Client) -> None:
    _, second = pair(upstream_model)
    router(allowed_fails=100)
    upstream.always_for("first", SERVER_ERROR)
    answer = http.post("/v1/messages", json={"model": "upstream-gpt", **HELLO})
    assert answer.status_code == 200 and answer.json()["content"][0]["type"] == "text"
    assert upstream.models_called() == ["first", "second"]
    assert answer.headers["x-litellm-model-id"] == str(second.pk)


def test_an_overloaded_anthropic_deployment_falls_back_to_another_provider(
        overloaded_twin: RecordingServer, upstream_model, upstream: OpenAIUpstream, http: httpx.Client) -> None:
    upstream_model("spare")
    router(num_retries=0, fallbacks=[{"claude": ["spare"]}])
    answer = http.post("/v1/messages", json={"model": "claude", **HELLO})
    assert answer.status_code == 200
    assert answer.json()["content"] == [{"type": "text", "text": "This is a mock response to: hello"}]
    assert len(overloaded_twin.requests) == 1 and upstream.models_called() == ["gpt-4o-2024-08-06"]


def test_an_upstream_failure_is_anthropic_shaped(overloaded_twin: RecordingServer, http: httpx.Client) -> None:
    router(num_retries=0)
    answer = http.post("/v1/messages", json={"model": "claude", **HELLO})
    assert answer.status_code == 503
    assert answer.json() == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                             "request_id": answer.headers["x-request-id"]}


def test_a_failure_mid_stream_ends_with_an_error_event(upstream_model, upstream: OpenAIUpstream,
                                                       http: httpx.Client) -> None:
    upstream_model()
    router(num_retries=0)
    first = {"id": "c1", "object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}
    broken = {"error": {"message": "upstream fell over", "type": "server_error"}}
    upstream.reply_with(Reply.stream([b"data: " + jsonutil.dumps(first) + b"\n\n",
                                      b"data: " + jsonutil.dumps(broken) + b"\n\n"]))
    with http.stream("POST", "/v1/messages", json={"model": "upstream-gpt", "stream": True, **HELLO}) as response:
        body = response.read().decode()
    assert response.status_code == 200
    assert body.endswith('event: error\ndata: {"type":"error","error":{"type":"api_error",'
                         '"message":"upstream fell over"}}\n\n')
    assert "message_stop" not in body and '"text_delta","text":"Hel"' in body
