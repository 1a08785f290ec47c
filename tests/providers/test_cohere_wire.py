"""The Cohere adapter through the real transport against a real HTTP mock of Cohere's v2 API."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from apps.core import jsonutil
from apps.providers import transport
from apps.providers.adapters.cohere import CohereAdapter
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamError
from apps.providers.rerank import RerankCall
from tests.upstreams.cohere import API_KEY, CohereUpstream

WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}


@pytest.fixture
def upstream() -> Iterator[CohereUpstream]:
    with CohereUpstream() as server:
        yield server


@pytest.fixture
async def client_cleanup() -> AsyncIterator[None]:
    yield
    await transport.close_all()


def target_for(upstream: CohereUpstream, api_key: str = API_KEY) -> Target:
    return Target(provider="cohere", model="command-a-03-2025", api_base=upstream.url, api_key=api_key, timeout=10)


async def test_chat_answer_arrives_openai_shaped(upstream: CohereUpstream, client_cleanup: None) -> None:
    call = ChatCall(model="c", messages=[{"role": "user", "content": "hi"}], params={"max_tokens": 20})
    result = await transport.send_chat(CohereAdapter(), call, target_for(upstream))
    [request] = upstream.requests
    assert request.path == "/v2/chat"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.json() == {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "hi"}],
                              "max_tokens": 20}
    assert result.body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "echo: hi"},
                                       "finish_reason": "stop", "logprobs": None}]
    assert result.body["usage"] == {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}


async def test_streamed_tool_call_arguments_reassemble(upstream: CohereUpstream, client_cleanup: None) -> None:
    call = ChatCall(model="c", messages=[{"role": "user", "content": "Weather?"}], stream=True,
                    params={"tools": [WEATHER_TOOL]})
    stream = await transport.open_chat_stream(CohereAdapter(), call, target_for(upstream))
    chunks = [chunk async for chunk in stream.chunks()]
    assert upstream.requests[0].json()["stream"] is True
    assert upstream.requests[0].headers["accept"] == "text/event-stream"
    pieces = [tool for chunk in chunks if chunk.body["choices"]
              for tool in chunk.body["choices"][0]["delta"].get("tool_calls") or []]
    assert pieces[0] == {"index": 0, "id": "get_weather_w1", "type": "function",
                         "function": {"name": "get_weather", "arguments": ""}}
    assert jsonutil.loads("".join(piece["function"]["arguments"] for piece in pieces)) == {"city": "Paris"}
    assert [c.body["choices"][0]["finish_reason"] for c in chunks if c.body["choices"]][-1] == "tool_calls"
    assert chunks[-1].usage is not None and chunks[-1].usage.as_openai() == {
        "prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}


async def test_streamed_text(upstream: CohereUpstream, client_cleanup: None) -> None:
    call = ChatCall(model="c", messages=[{"role": "user", "content": "hi"}], stream=True)
    stream = await transport.open_chat_stream(CohereAdapter(), call, target_for(upstream))
    chunks = [chunk async for chunk in stream.chunks()]
    assert "".join(c.body["choices"][0]["delta"].get("content") or "" for c in chunks if c.body["choices"]) == "Hello"
    assert [c.body["id"] for c in chunks] == ["chat-s"] * len(chunks)


async def test_embeddings_use_v2_embed(upstream: CohereUpstream, client_cleanup: None) -> None:
    result = await transport.send_embedding(CohereAdapter(), EmbeddingCall(model="e", input=["a", "b"]),
                                            target_for(upstream))
    assert upstream.requests[0].path == "/v2/embed"
    assert upstream.requests[0].json() == {"model": "command-a-03-2025", "texts": ["a", "b"],
                                           "input_type": "search_document", "embedding_types": ["float"]}
    assert [item["embedding"] for item in result.body["data"]] == [[0.5, 0.0], [0.5, 1.0]]
    assert result.usage.prompt_tokens == 3


async def test_rerank_round_trip(upstream: CohereUpstream, client_cleanup: None) -> None:
    adapter, target = CohereAdapter(), target_for(upstream)
    call = RerankCall(model="r", query="capital of France", documents=["Paris", "Lyon is big", {"text": "Nice"}],
                      top_n=2, return_documents=True)
    status, body = await transport.send(adapter, adapter.translate_rerank_request(call, target), target)
    result = adapter.parse_rerank_response(status, body, call)
    assert upstream.requests[0].path == "/v2/rerank"
    assert upstream.requests[0].json() == {"model": "command-a-03-2025", "query": "capital of France",
                                           "documents": ["Paris", "Lyon is big", "Nice"], "top_n": 2}
    assert result.body["results"] == [{"index": 1, "relevance_score": 1.0, "document": {"text": "Lyon is big"}},
                                      {"index": 0, "relevance_score": 0.5, "document": {"text": "Paris"}}]
    assert result.search_units == 1


async def test_bad_key_is_an_authentication_error(upstream: CohereUpstream, client_cleanup: None) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send_chat(CohereAdapter(), ChatCall(model="c", messages=[{"role": "user", "content": "hi"}]),
                                  target_for(upstream, api_key="wrong"))
    assert (caught.value.status, caught.value.error_code, caught.value.message) == (
        401, "invalid_api_key", "invalid api token")


async def test_rate_limit_keeps_retry_after(upstream: CohereUpstream, client_cleanup: None) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send_chat(CohereAdapter(), ChatCall(model="c", messages=[
            {"role": "user", "content": "please rate limit"}]), target_for(upstream))
    assert (caught.value.status, caught.value.retryable, caught.value.retry_after) == (429, True, 6.0)
