"""/v1/messages to an Anthropic deployment: the body goes upstream as sent and the answer comes back byte for byte."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from apps.core import jsonutil
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.anthropic import API_KEY, CLIENT_VERSION, GATEWAY_MODEL, gateway_answer, gateway_events, gateway_upstream, sse
from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply


@pytest.fixture
def twin(transactional_db: None) -> Iterator[GatewayUpstream]:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment, RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    with gateway_upstream() as upstream:
        Deployment.objects.create(model_name="claude", provider="anthropic", provider_model=GATEWAY_MODEL,
                                  api_base=upstream.api_base, api_key_encrypted=encrypt(API_KEY), timeout=10)
        yield upstream


@pytest.fixture
def claude(gateway: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=MASTER_KEY, base_url=gateway.url, max_retries=0, timeout=30)


def test_body_passes_through_unchanged_and_answer_comes_back_as_is(claude: anthropic.Anthropic,
                                                                   twin: GatewayUpstream) -> None:
    body: dict[str, Any] = {
        "max_tokens": 64, "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}]}]}
    message = claude.messages.create(model="claude", **body, extra_body={"top_k": 5},
                                     extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"})
    assert (message.id, message.model, message.stop_reason) == ("msg_e2e", GATEWAY_MODEL, "end_turn")
    assert [block.model_dump(exclude_none=True) for block in message.content] == gateway_answer(tools=False)["content"]
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 6)
    [seen] = twin.server.requests
    assert seen.json() == {"model": GATEWAY_MODEL, **body, "top_k": 5}
    assert seen.headers["anthropic-version"] == CLIENT_VERSION  # the client's, not the adapter's default
    assert seen.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert seen.headers["x-api-key"] == API_KEY and MASTER_KEY not in str(seen.headers)


def test_answer_bytes_are_the_upstreams(http: httpx.Client, twin: GatewayUpstream) -> None:
    answer = http.post("/v1/messages", json={"model": "claude", "max_tokens": 5,
                                             "messages": [{"role": "user", "content": "hello"}]},
                       headers={"anthropic-version": "2023-01-01"})
    assert answer.status_code == 200
    assert twin.server.requests[0].headers["anthropic-version"] == "2023-01-01"
    assert answer.content == jsonutil.dumps(gateway_answer(tools=False))
    assert answer.headers["x-litellm-model-group"] == "claude"


def test_stream_bytes_are_the_upstreams(http: httpx.Client, twin: GatewayUpstream) -> None:
    body = {"model": "claude", "max_tokens": 5, "stream": True, "tools": [{"name": "get_weather", "input_schema": {
        "type": "object", "properties": {"city": {"type": "string"}}}}],
            "messages": [{"role": "user", "content": "weather?"}]}
    with http.stream("POST", "/v1/messages", json=body) as response:
        received = b"".join(response.iter_raw())
    assert received == b"".join(sse(gateway_events(tools=True)))
    [seen] = twin.server.requests
    assert seen.json() == {**body, "model": GATEWAY_MODEL}


def test_sdk_stream_through_passthrough(claude: anthropic.Anthropic, twin: GatewayUpstream) -> None:
    with claude.messages.stream(model="claude", max_tokens=5, messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert (text, final.stop_reason, final.usage.output_tokens) == ("Hello from Anthropic.", "end_turn", 6)


def test_gateway_fields_are_not_sent_upstream(http: httpx.Client, twin: GatewayUpstream) -> None:
    answer = http.post("/v1/messages", json={"model": "claude", "max_tokens": 5, "num_retries": 0, "timeout": 9,
                                             "messages": [{"role": "user", "content": "hello"}]})
    assert answer.status_code == 200
    assert twin.server.requests[0].json() == {"model": GATEWAY_MODEL, "max_tokens": 5,
                                              "messages": [{"role": "user", "content": "hello"}]}


def counting_twin(seen: Recorded) -> Reply:
    """Anthropic's count_tokens: 42 for any body that carries what it takes and nothing it rejects."""
    assert (seen.method, seen.path) == ("POST", "/v1/messages/count_tokens")
    assert seen.headers.get("x-api-key") == API_KEY
    body = seen.json()
    assert set(body) <= {"model", "messages", "system", "tools", "tool_choice", "thinking"}, sorted(body)
    if body["messages"][0]["content"] == "break":
        return Reply.json(500, {"type": "error", "error": {"type": "api_error", "message": "broken"}})
    return Reply.json(200, {"input_tokens": 42})


@pytest.fixture
def counter(transactional_db: None) -> Iterator[RecordingServer]:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment

    with RecordingServer(counting_twin) as server:
        Deployment.objects.create(model_name="claude-count", provider="anthropic", provider_model=GATEWAY_MODEL,
                                  api_base=server.url, api_key_encrypted=encrypt(API_KEY), timeout=10)
        yield server
    assert server.failures == []


def test_count_tokens_asks_anthropic_and_falls_back_to_the_estimate(claude: anthropic.Anthropic,
                                                                    counter: RecordingServer) -> None:
    counted = claude.messages.count_tokens(model="claude-count", system="Be brief.",
                                           messages=[{"role": "user", "content": "hello"}])
    assert counted.input_tokens == 42
    assert counter.requests[0].json() == {"model": GATEWAY_MODEL, "system": "Be brief.",
                                          "messages": [{"role": "user", "content": "hello"}]}
    estimated = claude.messages.count_tokens(model="claude-count", messages=[{"role": "user", "content": "break"}])
    assert estimated.input_tokens == 3 + 4 + 2  # the gateway's own count when Anthropic's fails
