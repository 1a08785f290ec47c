"""Provider-neutral behaviour of the transport and the error contract."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apps.providers import transport
from apps.providers.adapters.cohere import CohereAdapter
from apps.providers.base import ChatCall, ChatChunk, Target, UpstreamError, client_status_for
from tests.upstreams.cohere import API_KEY, CohereUpstream

TARGET = Target(provider="cohere", model="command-a-03-2025", model_alias="team-chat")


@pytest.fixture
async def client_cleanup() -> AsyncIterator[None]:
    yield
    await transport.close_all()


async def test_streamed_chunks_name_the_deployment_model_when_the_upstream_does_not(client_cleanup: None) -> None:
    call = ChatCall(model="team-chat", messages=[{"role": "user", "content": "hi"}], stream=True)
    with CohereUpstream() as upstream:  # Cohere's stream events never name the model
        target = Target(provider="cohere", model="command-a-03-2025", api_base=upstream.url, api_key=API_KEY,
                        timeout=10)
        stream = await transport.open_chat_stream(CohereAdapter(), call, target)
        chunks = [chunk async for chunk in stream.chunks()]
    assert len(chunks) > 2
    assert {chunk.body["model"] for chunk in chunks} == {"command-a-03-2025"}


@pytest.mark.parametrize("body", [
    pytest.param({"id": "c", "choices": []}, id="missing_case"),
    pytest.param({"id": "c", "model": "", "choices": []}, id="empty_case"),
])
def test_an_unnamed_chunk_gets_the_target_model(body: dict[str, object]) -> None:
    assert transport.with_model(ChatChunk(body=body), TARGET).body == {**body, "model": "command-a-03-2025"}


def test_a_chunk_keeps_the_model_the_upstream_reported() -> None:
    chunk = ChatChunk(body={"model": "command-a-03-2025-v7", "choices": []})
    assert transport.with_model(chunk, TARGET) is chunk


@pytest.mark.parametrize(("upstream", "client"), [
    pytest.param(400, 400, id="bad_request_case"),
    pytest.param(429, 429, id="rate_limit_case"),
    pytest.param(500, 502, id="server_error_case"),
    pytest.param(503, 503, id="unavailable_case"),
    pytest.param(504, 504, id="gateway_timeout_case"),
    pytest.param(529, 503, id="anthropic_overloaded_case"),
])
def test_client_status_for_upstream_status(upstream: int, client: int) -> None:
    assert client_status_for(upstream) == client


def test_overloaded_529_is_a_retryable_503_keeping_retry_after() -> None:
    error = UpstreamError("Overloaded", status=529, code="overloaded", retry_after=2.5, provider="anthropic")
    assert (error.status, error.upstream_status, error.retryable) == (503, 529, True)
    assert error.headers["Retry-After"] == "3"
