"""An OpenAI-compatible upstream over a real socket: faithful pass-through, error mapping, cancellation."""
from __future__ import annotations

import httpx
import openai
import pytest

from tests.upstreams.openai import OpenAIUpstream, paced
from tests.upstreams.recording import Reply

MSG = [{"role": "user", "content": "hello"}]


def test_every_parameter_reaches_the_upstream(upstream_model, upstream: OpenAIUpstream, sdk: openai.OpenAI) -> None:
    upstream_model()
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    sdk.chat.completions.create(
        model="upstream-gpt", messages=MSG, tools=tools, tool_choice="none", response_format={"type": "json_object"},
        seed=3, logprobs=True, top_logprobs=2, n=1, stop=["END"], user="u-9", metadata={"team": "a"},
        temperature=0.5, extra_body={"vendor_flag": {"deep": [1, 2]}, "fallbacks": []})
    sent = upstream.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-upstream-secret"
    assert sent.json() == {"model": "gpt-4o-2024-08-06", "messages": MSG, "tools": tools, "tool_choice": "none",
                           "response_format": {"type": "json_object"}, "seed": 3, "logprobs": True, "top_logprobs": 2,
                           "n": 1, "stop": ["END"], "user": "u-9", "metadata": {"team": "a"}, "temperature": 0.5,
                           "vendor_flag": {"deep": [1, 2]}}


def test_stream_asks_upstream_for_usage_and_forwards_chunks(upstream_model, upstream: OpenAIUpstream,
                                                            sdk: openai.OpenAI) -> None:
    upstream_model()
    chunks = list(sdk.chat.completions.create(model="upstream-gpt", messages=MSG, stream=True))
    assert upstream.requests[-1].json()["stream_options"] == {"include_usage": True}
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "This is a mock response to: hello"


@pytest.mark.parametrize(("status", "expected", "sdk_error"), [
    pytest.param(401, 401, openai.AuthenticationError, id="unauthorized_case"),
    pytest.param(403, 403, openai.PermissionDeniedError, id="forbidden_case"),
    pytest.param(404, 404, openai.NotFoundError, id="not_found_case"),
    pytest.param(429, 429, openai.RateLimitError, id="rate_limited_case"),
    pytest.param(500, 502, openai.InternalServerError, id="server_error_case"),
    pytest.param(503, 503, openai.InternalServerError, id="unavailable_case"),
])
def test_upstream_errors_keep_status_and_message(upstream_model, upstream: OpenAIUpstream, sdk: openai.OpenAI,
                                                 status: int, expected: int, sdk_error: type[Exception]) -> None:
    upstream_model()
    upstream.reply_with(Reply.json(status, {"error": {"message": f"upstream says {status}", "type": "x"}},
                                   headers={"retry-after": "7"}))
    with pytest.raises(sdk_error) as caught:
        sdk.chat.completions.create(model="upstream-gpt", messages=MSG)
    error = caught.value
    assert error.status_code == expected  # type: ignore[attr-defined]
    assert error.body["message"] == f"upstream says {status}"  # type: ignore[attr-defined]


def test_rate_limit_keeps_retry_after(upstream_model, upstream: OpenAIUpstream, http: httpx.Client) -> None:
    upstream_model()
    upstream.reply_with(Reply.json(429, {"error": {"message": "slow down"}}, headers={"retry-after": "7"}))
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


def test_upstream_timeout_is_a_clean_408(upstream_model, upstream: OpenAIUpstream, http: httpx.Client) -> None:
    upstream_model(timeout=0.5)
    upstream.reply_with(Reply(stall=True))
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
    assert response.status_code == 408
    assert response.json()["error"]["code"] == "timeout"
    assert upstream.hangup_event.wait(5)


def test_unreachable_upstream_is_502_without_the_url(upstream_model, http: httpx.Client) -> None:
    upstream_model(api_base="http://127.0.0.1:9/v1?key=secret")
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG})
    assert response.status_code == 502
    assert "secret" not in response.text and "127.0.0.1" not in response.text


def test_client_hangup_cancels_a_non_streamed_call(upstream_model, upstream: OpenAIUpstream, gateway) -> None:
    upstream_model(timeout=60)
    upstream.reply_with(Reply(stall=True))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG},
                   headers={"Authorization": "Bearer sk-test-master-0123456789"}, timeout=0.5)
    assert upstream.hangup_event.wait(1.5), "the upstream call outlived the client"


def test_client_hangup_cancels_a_stream(upstream_model, upstream: OpenAIUpstream, gateway) -> None:
    upstream_model(timeout=60)
    upstream.reply_with(paced(0.2))
    headers = {"Authorization": "Bearer sk-test-master-0123456789"}
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", headers=headers, timeout=10,
                      json={"model": "upstream-gpt", "messages": MSG, "stream": True}) as response:
        first = next(response.iter_lines())
        assert first.startswith("data: {")
    assert upstream.hangup_event.wait(1.5), "the upstream stream outlived the client"


def test_chunks_are_forwarded_as_they_arrive(upstream_model, upstream: OpenAIUpstream, gateway) -> None:
    upstream_model(timeout=60)
    upstream.reply_with(paced(0.3))
    headers = {"Authorization": "Bearer sk-test-master-0123456789"}
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", headers=headers, timeout=10,
                      json={"model": "upstream-gpt", "messages": MSG, "stream": True}) as response:
        assert response.headers["x-accel-buffering"] == "no"
        lines = response.iter_lines()
        first = next(line for line in lines if line)
        # The client holds the first event while the upstream is still pacing out the rest.
        assert '"role":"assistant"' in first
        assert upstream.pieces_sent < 5


def test_mid_stream_failure_ends_with_an_error_event(upstream_model, upstream: OpenAIUpstream, http: httpx.Client) -> None:
    upstream_model()
    good = (b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":'
            b'[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n')
    bad = b'data: {"error": {"message": "overloaded mid-way", "type": "server_error"}}\n\n'
    upstream.reply_with(Reply.stream([good, bad]))
    response = http.post("/v1/chat/completions", json={"model": "upstream-gpt", "messages": MSG, "stream": True})
    events = [line for line in response.text.split("\n\n") if line]
    assert events[0].startswith("data: {") and '"Hi"' in events[0]
    assert '"overloaded mid-way"' in events[-1]
    assert "[DONE]" not in response.text
