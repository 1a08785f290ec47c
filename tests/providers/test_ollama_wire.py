"""The Ollama adapter through the real transport against a local Ollama-speaking server."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apps.providers import transport
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.upstreams import ollama
from tests.upstreams.recording import RecordingServer

ADAPTER = adapter_for("ollama")
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
                                                                               "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture
async def upstream() -> AsyncIterator[RecordingServer]:
    with ollama.server() as server:
        yield server
        await transport.close_all()


def target(server: RecordingServer, model: str = ollama.MODEL) -> Target:
    return Target(provider="ollama", model=model, api_base=server.url, timeout=10.0, extra={"num_ctx": 4096})


async def test_chat_sends_native_request_and_returns_openai_shape(upstream: RecordingServer) -> None:
    call = ChatCall(model="m", messages=[{"role": "user", "content": "Hi"}], params={"temperature": 0, "max_tokens": 9})
    result = await transport.send_chat(ADAPTER, call, target(upstream))
    [request] = upstream.requests
    assert request.path == "/api/chat"
    assert request.json() == {"model": "llama3.2", "stream": False, "messages": [{"role": "user", "content": "Hi"}],
                            "options": {"num_ctx": 4096, "temperature": 0, "num_predict": 9}}
    assert result.body["object"] == "chat.completion"
    assert result.body["choices"][0]["message"] == {"role": "assistant", "content": "Hello from Ollama."}
    assert result.body["usage"] == {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}


async def test_ndjson_stream_ends_with_finish_and_usage(upstream: RecordingServer) -> None:
    call = ChatCall(model="m", messages=[{"role": "user", "content": "Hi"}], stream=True)
    stream = await transport.open_chat_stream(ADAPTER, call, target(upstream))
    chunks = [chunk async for chunk in stream.chunks()]
    assert upstream.requests[0].json()["stream"] is True
    assert [c.body["choices"][0]["delta"] for c in chunks[:2]] == [{"role": "assistant", "content": "Hello"},
                                                                    {"content": " there"}]
    assert chunks[2].body["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert chunks[3].body["choices"] == [] and chunks[3].body["usage"]["total_tokens"] == 25
    assert len({c.body["id"] for c in chunks}) == 1


async def test_streamed_tool_call_arguments_are_json_text(upstream: RecordingServer) -> None:
    call = ChatCall(model="m", messages=[{"role": "user", "content": "Weather?"}], stream=True, params={"tools": TOOLS})
    stream = await transport.open_chat_stream(ADAPTER, call, target(upstream))
    chunks = [chunk async for chunk in stream.chunks()]
    assert upstream.requests[0].json()["tools"] == TOOLS
    [tool_chunk] = [c for c in chunks if c.body["choices"] and "tool_calls" in c.body["choices"][0]["delta"]]
    [tool_call] = tool_chunk.body["choices"][0]["delta"]["tool_calls"]
    assert tool_call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert chunks[-2].body["choices"][0]["finish_reason"] == "tool_calls"


async def test_missing_model_is_model_not_found(upstream: RecordingServer) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send_chat(ADAPTER, ChatCall(model="m", messages=[]), target(upstream, model="nope"))
    assert (caught.value.status, caught.value.error_code) == (404, "model_not_found")
    assert caught.value.message == 'model "nope" not found, try pulling it first'


async def test_embed(upstream: RecordingServer) -> None:
    result = await transport.send_embedding(ADAPTER, EmbeddingCall(model="e", input=["a", "b"]), target(upstream))
    [request] = upstream.requests
    assert (request.path, request.json()) == ("/api/embed", {"model": "llama3.2", "input": ["a", "b"]})
    assert [d["embedding"] for d in result.body["data"]] == [[0.25, 0.0], [0.25, 1.0]]
    assert result.usage.prompt_tokens == 6
