"""The Gemini adapter through the real transport against a real HTTP mock of the Gemini API."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from apps.providers import transport
from apps.providers.adapters.gemini import GeminiAdapter
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamError
from tests.upstreams.gemini import SIGNATURE, GeminiUpstream

WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}


@pytest.fixture
def upstream() -> Iterator[GeminiUpstream]:
    with GeminiUpstream() as server:
        yield server


@pytest.fixture
async def client_cleanup() -> AsyncIterator[None]:
    yield
    await transport.close_all()


def target_for(upstream: GeminiUpstream, api_key: str = GeminiUpstream.api_key) -> Target:
    return Target(provider="gemini", model="gemini-2.5-flash", api_base=upstream.url, api_key=api_key, timeout=10)


async def test_chat_answer_arrives_openai_shaped(upstream: GeminiUpstream, client_cleanup: None) -> None:
    call = ChatCall(model="g", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
                    params={"temperature": 0.5})
    result = await transport.send_chat(GeminiAdapter(), call, target_for(upstream))
    [request] = upstream.requests
    assert (request.path, request.query) == ("/v1beta/models/gemini-2.5-flash:generateContent", {})
    assert request.headers["x-goog-api-key"] == "AIza-wire-test"
    assert request.json() == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                              "systemInstruction": {"parts": [{"text": "Be brief."}]},
                              "generationConfig": {"temperature": 0.5}}
    assert result.body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "echo: hi",
                                                               "reasoning_content": "thinking..."},
                                       "finish_reason": "stop", "logprobs": None}]
    assert result.body["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                                    "completion_tokens_details": {"reasoning_tokens": 3}}


async def test_thought_signature_survives_a_tool_round_trip(upstream: GeminiUpstream, client_cleanup: None) -> None:
    adapter, target = GeminiAdapter(), target_for(upstream)
    question = {"role": "user", "content": "Weather?"}
    first = await transport.send_chat(adapter, ChatCall(model="g", messages=[question], params={"tools": [WEATHER_TOOL]}),
                                      target)
    [tool_call] = first.body["choices"][0]["message"]["tool_calls"]
    # A client that keeps only id/type/function (most do) must still get the signature back to Gemini.
    echoed = {key: tool_call[key] for key in ("id", "type", "function")}
    messages = [question, {"role": "assistant", "content": None, "tool_calls": [echoed]},
                {"role": "tool", "tool_call_id": tool_call["id"], "content": "sunny"}]
    second = await transport.send_chat(adapter, ChatCall(model="g", messages=messages, params={"tools": [WEATHER_TOOL]}),
                                       target)
    assert upstream.requests[1].json()["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                                     "thoughtSignature": SIGNATURE}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}}]}]
    assert second.body["choices"][0]["message"]["content"] == "echo: "


async def test_stream_yields_deltas_tool_calls_and_final_usage(upstream: GeminiUpstream, client_cleanup: None) -> None:
    call = ChatCall(model="g", messages=[{"role": "user", "content": "hi"}], stream=True, params={"tools": [WEATHER_TOOL]})
    stream = await transport.open_chat_stream(GeminiAdapter(), call, target_for(upstream))
    chunks = [chunk async for chunk in stream.chunks()]
    assert upstream.requests[0].path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert upstream.requests[0].query == {"alt": ["sse"]}
    deltas = [chunk.body["choices"][0]["delta"] for chunk in chunks if chunk.body["choices"]]
    assert "".join(delta.get("content") or "" for delta in deltas) == "Hello"
    [call_delta] = [delta["tool_calls"][0] for delta in deltas if "tool_calls" in delta]
    assert call_delta["function"] == {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}
    assert call_delta["provider_specific_fields"] == {"thought_signature": SIGNATURE}
    assert [chunk.body["choices"][0]["finish_reason"] for chunk in chunks if chunk.body["choices"]][-1] == "tool_calls"
    assert chunks[-1].body["choices"] == []
    assert chunks[-1].usage is not None and chunks[-1].usage.as_openai() == {
        "prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18, "completion_tokens_details": {"reasoning_tokens": 3}}


async def test_embeddings_use_batch_embed_contents(upstream: GeminiUpstream, client_cleanup: None) -> None:
    result = await transport.send_embedding(GeminiAdapter(), EmbeddingCall(model="e", input=["a", "b"]),
                                            target_for(upstream))
    assert upstream.requests[0].path == "/v1beta/models/gemini-2.5-flash:batchEmbedContents"
    assert upstream.requests[0].json() == {"requests": [
        {"model": "models/gemini-2.5-flash", "content": {"parts": [{"text": "a"}]}},
        {"model": "models/gemini-2.5-flash", "content": {"parts": [{"text": "b"}]}}]}
    assert [item["embedding"] for item in result.body["data"]] == [[0.0, 0.5], [1.0, 0.5]]


async def test_bad_key_is_an_authentication_error(upstream: GeminiUpstream, client_cleanup: None) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send_chat(GeminiAdapter(), ChatCall(model="g", messages=[{"role": "user", "content": "hi"}]),
                                  target_for(upstream, api_key="AIza-wrong"))
    assert (caught.value.status, caught.value.error_code, caught.value.error_type) == (
        401, "invalid_api_key", "authentication_error")


async def test_quota_exhaustion_is_a_retryable_rate_limit(upstream: GeminiUpstream, client_cleanup: None) -> None:
    call = ChatCall(model="g", messages=[{"role": "user", "content": "please rate limit"}])
    with pytest.raises(UpstreamError) as caught:
        await transport.send_chat(GeminiAdapter(), call, target_for(upstream))
    assert (caught.value.status, caught.value.retryable, caught.value.retry_after) == (429, True, 13.0)
