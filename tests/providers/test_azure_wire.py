"""The Azure adapter through the real transport against a local Azure-speaking server."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apps.providers import transport
from apps.providers.adapters.azure import AzureContentFilterError
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.upstreams import azure
from tests.upstreams.recording import RecordingServer

ADAPTER = adapter_for("azure")


@pytest.fixture
async def upstream() -> AsyncIterator[RecordingServer]:
    with azure.server() as server:
        yield server
        await transport.close_all()


def target(server: RecordingServer, **changes: object) -> Target:
    fields = {"provider": "azure", "model": "gpt4o-prod", "api_base": server.url, "api_key": azure.API_KEY,
              "api_version": "2024-10-21", "timeout": 10.0, **changes}
    return Target(**fields)  # type: ignore[arg-type]


def chat(text: str, *, stream: bool = False) -> ChatCall:
    return ChatCall(model="gpt-4o", messages=[{"role": "user", "content": text}], stream=stream)


async def test_chat_keeps_content_filter_results(upstream: RecordingServer) -> None:
    result = await transport.send_chat(ADAPTER, chat("Hi"), target(upstream))
    [request] = upstream.requests
    assert (request.path, request.query) == ("/openai/deployments/gpt4o-prod/chat/completions",
                                             {"api-version": ["2024-10-21"]})
    assert request.headers["api-key"] == azure.API_KEY
    assert request.json() == {"model": "gpt4o-prod", "messages": [{"role": "user", "content": "Hi"}]}
    assert result.body["prompt_filter_results"] == azure.PROMPT_FILTER
    assert result.body["choices"][0]["content_filter_results"] == azure.SAFE
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (9, 4)


async def test_stream_passes_the_filter_only_first_chunk(upstream: RecordingServer) -> None:
    stream = await transport.open_chat_stream(ADAPTER, chat("Hi", stream=True), target(upstream))
    chunks = [chunk async for chunk in stream.chunks()]
    assert upstream.requests[0].json()["stream_options"] == {"include_usage": True}
    # The filter-only chunk names no model upstream; the transport fills in the deployment's.
    assert chunks[0].body == {"choices": [], "created": 0, "id": "", "model": "gpt4o-prod",
                              "object": "chat.completion.chunk", "prompt_filter_results": azure.PROMPT_FILTER}
    assert [c.body["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["", "Hello"]
    assert chunks[3].body["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1].body["choices"] == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (9, 1)


async def test_content_filter_block_is_a_policy_error(upstream: RecordingServer) -> None:
    with pytest.raises(AzureContentFilterError) as caught:
        await transport.send_chat(ADAPTER, chat("something violent"), target(upstream))
    assert (caught.value.status, caught.value.error_code) == (400, "content_policy_violation")
    assert caught.value.innererror["content_filter_result"]["violence"] == {"filtered": True, "severity": "high"}


async def test_v1_api_with_entra_token(upstream: RecordingServer) -> None:
    call_target = target(upstream, api_version="v1", api_key=None, extra={"azure_ad_token": "entra-abc"})
    result = await transport.send_chat(ADAPTER, chat("Hi"), call_target)
    [request] = upstream.requests
    assert (request.path, request.query) == ("/openai/v1/chat/completions", {})
    assert request.headers["authorization"] == "Bearer entra-abc" and "api-key" not in request.headers
    assert result.body["choices"][0]["message"]["content"] == "Hello from Azure."


async def test_wrong_key_maps_to_authentication_error(upstream: RecordingServer) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send_chat(ADAPTER, chat("Hi"), target(upstream, api_key="wrong"))
    assert (caught.value.status, caught.value.error_type) == (401, "authentication_error")


async def test_embeddings(upstream: RecordingServer) -> None:
    result = await transport.send_embedding(ADAPTER, EmbeddingCall(model="e", input=["a", "b"]),
                                            target(upstream, model="emb-prod"))
    [request] = upstream.requests
    assert request.path == "/openai/deployments/emb-prod/embeddings"
    assert request.json() == {"model": "emb-prod", "input": ["a", "b"]}
    assert [item["embedding"] for item in result.body["data"]] == [[0.5, 0.0], [0.5, 1.0]]
    assert result.usage.prompt_tokens == 4
