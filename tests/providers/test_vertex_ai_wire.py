"""The Vertex AI adapter through the real transport, including a real google-auth service-account token mint."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.providers import google_credentials, transport
from apps.providers.adapters.vertex_ai import VertexAIAdapter
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamError
from tests.upstreams.vertex_ai import MINTED_TOKEN, STATIC_TOKEN, VertexUpstream

MODEL_PATH = "/v1/projects/acme-prod/locations/us-east5/publishers/google/models/gemini-2.5-pro"


@pytest.fixture
def upstream() -> Iterator[VertexUpstream]:
    with VertexUpstream() as server:
        yield server


@pytest.fixture
async def client_cleanup() -> AsyncIterator[None]:
    yield
    await transport.close_all()


@pytest.fixture
def fresh_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google_credentials, "_TOKENS", google_credentials.TokenCache())


def target_for(upstream: VertexUpstream, **extra: Any) -> Target:
    api_key = extra.pop("api_key", STATIC_TOKEN)
    return Target(provider="vertex_ai", model="gemini-2.5-pro", api_base=upstream.url, api_key=api_key, timeout=10,
                  extra={"vertex_project": "acme-prod", "vertex_location": "us-east5", **extra})


async def test_chat_with_a_static_bearer_token(upstream: VertexUpstream, client_cleanup: None) -> None:
    call = ChatCall(model="v", messages=[{"role": "user", "content": "hi"}])
    result = await transport.send_chat(VertexAIAdapter(), call, target_for(upstream))
    [request] = upstream.requests
    assert request.path == f"{MODEL_PATH}:generateContent"
    assert request.headers["authorization"] == f"Bearer {STATIC_TOKEN}"
    assert "x-goog-api-key" not in request.headers
    assert request.json() == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert result.body["choices"][0]["message"]["content"] == "echo: hi"


async def test_service_account_token_is_minted_and_cached(upstream: VertexUpstream, client_cleanup: None,
                                                          fresh_tokens: None, tmp_path: Path) -> None:
    credentials = tmp_path / "sa.json"
    credentials.write_text(json.dumps(upstream.service_account()))
    # No vertex_project: the project comes from the credentials file, read by the sign hook.
    target = Target(provider="vertex_ai", model="gemini-2.5-pro", api_base=upstream.url, timeout=10,
                    extra={"vertex_location": "us-east5", "vertex_credentials": str(credentials)})
    call = ChatCall(model="v", messages=[{"role": "user", "content": "hi"}])
    await transport.send_chat(VertexAIAdapter(), call, target)
    await transport.send_chat(VertexAIAdapter(), call, target)
    assert [request.path for request in upstream.requests] == [
        "/token", f"{MODEL_PATH}:generateContent", f"{MODEL_PATH}:generateContent"]
    assert upstream.requests[1].headers["authorization"] == f"Bearer {MINTED_TOKEN}"
    assert upstream.requests[2].headers["authorization"] == f"Bearer {MINTED_TOKEN}"


async def test_stream_ends_with_usage(upstream: VertexUpstream, client_cleanup: None) -> None:
    call = ChatCall(model="v", messages=[{"role": "user", "content": "hi"}], stream=True)
    stream = await transport.open_chat_stream(VertexAIAdapter(), call, target_for(upstream))
    chunks = [chunk async for chunk in stream.chunks()]
    assert (upstream.requests[0].path, upstream.requests[0].query) == (
        f"{MODEL_PATH}:streamGenerateContent", {"alt": ["sse"]})
    assert "".join(c.body["choices"][0]["delta"].get("content") or "" for c in chunks if c.body["choices"]) == "Hello"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 18


async def test_embeddings_use_predict(upstream: VertexUpstream, client_cleanup: None) -> None:
    result = await transport.send_embedding(VertexAIAdapter(), EmbeddingCall(model="e", input="hello",
                                                                             params={"dimensions": 2}),
                                            target_for(upstream))
    assert upstream.requests[0].path == f"{MODEL_PATH}:predict"
    assert upstream.requests[0].json() == {"instances": [{"content": "hello"}], "parameters": {"outputDimensionality": 2}}
    assert result.body["data"] == [{"object": "embedding", "index": 0, "embedding": [0.25, 0.0]}]
    assert result.body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


async def test_rejected_token_is_an_authentication_error(upstream: VertexUpstream, client_cleanup: None) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send_chat(VertexAIAdapter(), ChatCall(model="v", messages=[{"role": "user", "content": "x"}]),
                                  target_for(upstream, api_key="ya29.expired"))
    assert (caught.value.status, caught.value.error_code) == (401, "invalid_api_key")
