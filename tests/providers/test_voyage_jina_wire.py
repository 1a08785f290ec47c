"""Voyage AI and Jina AI: fixtures, then embeddings and rerank through the real transport against strict twins."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apps.core.errors import InvalidRequest
from apps.providers import transport
from apps.providers.base import ChatCall, EmbeddingCall, Target, UpstreamError
from apps.providers.registry import adapter_for
from apps.providers.rerank import RerankCall
from tests.providers.translation import check_translation
from tests.upstreams import jina_ai, voyage

CASES = [("voyage", "embedding"), ("voyage", "error_auth"), ("voyage", "error_rate_limit"), ("voyage", "error_context"),
         ("jina_ai", "embedding"), ("jina_ai", "error_auth"), ("jina_ai", "error_rate_limit")]
DOCUMENTS = ["the gateway bills every call", "a recipe for bread", "calls are routed by the gateway"]


@pytest.mark.parametrize(("prefix", "case"), [pytest.param(*pair, id=f"{pair[0]}-{pair[1]}_case") for pair in CASES])
def test_fixture_case(prefix: str, case: str) -> None:
    check_translation(prefix, case)


@pytest.fixture
async def closing_transport() -> AsyncIterator[None]:
    yield
    await transport.close_all()


def test_chat_is_refused_with_a_clear_400() -> None:
    target = Target(provider="voyage", model="voyage-3.5", api_key="k")
    with pytest.raises(InvalidRequest) as caught:
        adapter_for("voyage").translate_request(ChatCall(model="v", messages=[{"role": "user", "content": "hi"}]),
                                                target)
    assert (caught.value.status, caught.value.error_code, caught.value.message) == (
        400, "unsupported_operation", "provider 'voyage' serves embeddings and rerank only, not chat completions")


async def test_voyage_embeddings_round_trip(closing_transport: None) -> None:
    call = EmbeddingCall(model="v", input=["one two", "three"], params={"dimensions": 3, "input_type": "query"})
    with voyage.VoyageUpstream() as twin:
        target = Target(provider="voyage", model="voyage-3.5", api_base=twin.url, api_key=voyage.API_KEY)
        result = await transport.send_embedding(adapter_for("voyage"), call, target)
    [seen] = twin.requests
    assert (seen.path, seen.json()) == ("/v1/embeddings", {"model": "voyage-3.5", "input": ["one two", "three"],
                                                           "output_dimension": 3, "input_type": "query"})
    assert result.body == {"object": "list", "model": "voyage-3.5", "usage": {"prompt_tokens": 3, "total_tokens": 3},
                           "data": [{"object": "embedding", "index": 0, "embedding": [7.0, 0.5, 0.5]},
                                    {"object": "embedding", "index": 1, "embedding": [5.0, 0.5, 0.5]}]}
    assert result.usage.prompt_tokens == 3


async def test_voyage_rerank_round_trip(closing_transport: None) -> None:
    call = RerankCall(model="r", query="gateway calls", documents=DOCUMENTS, top_n=2, return_documents=True)
    adapter = adapter_for("voyage")
    with voyage.VoyageUpstream() as twin:
        target = Target(provider="voyage", model="rerank-2.5", api_base=f"{twin.url}/v1", api_key=voyage.API_KEY)
        status, body = await transport.send(adapter, adapter.translate_rerank_request(call, target), target)  # type: ignore[attr-defined]
        result = adapter.parse_rerank_response(status, body, call)  # type: ignore[attr-defined]
    [seen] = twin.requests
    assert (seen.path, seen.json()) == ("/v1/rerank", {"model": "rerank-2.5", "query": "gateway calls",
                                                       "documents": DOCUMENTS, "top_k": 2, "return_documents": True})
    assert result.body["results"] == [
        {"index": 2, "relevance_score": 1.0, "document": {"text": DOCUMENTS[2]}},
        {"index": 0, "relevance_score": 0.5, "document": {"text": DOCUMENTS[0]}}]
    assert result.body["meta"] == {"billed_units": {"total_tokens": 17}, "tokens": {"input_tokens": 17, "output_tokens": 0}}
    assert (result.usage.prompt_tokens, result.search_units) == (17, 0)


async def test_voyage_bad_key_is_an_authentication_error(closing_transport: None) -> None:
    with voyage.VoyageUpstream() as twin:
        target = Target(provider="voyage", model="voyage-3.5", api_base=twin.url, api_key="wrong")
        with pytest.raises(UpstreamError) as caught:
            await transport.send_embedding(adapter_for("voyage"), EmbeddingCall(model="v", input="x"), target)
    assert (caught.value.status, caught.value.error_type, caught.value.message) == (
        401, "authentication_error", "Provided API key is invalid.")


async def test_jina_embeddings_and_rerank_round_trip(closing_transport: None) -> None:
    adapter = adapter_for("jina_ai")
    rerank = RerankCall(model="r", query="bread recipe", documents=DOCUMENTS, top_n=1)
    with jina_ai.JinaUpstream() as twin:
        target = Target(provider="jina_ai", model="jina-embeddings-v3", api_base=twin.url, api_key=jina_ai.API_KEY)
        embedded = await transport.send_embedding(adapter, EmbeddingCall(model="j", input="a b c", params={
            "task": "text-matching", "dimensions": 2}), target)
        rerank_target = Target(provider="jina_ai", model="jina-reranker-v2-base-multilingual", api_base=twin.url,
                               api_key=jina_ai.API_KEY)
        status, body = await transport.send(adapter, adapter.translate_rerank_request(rerank, rerank_target),  # type: ignore[attr-defined]
                                            rerank_target)
        ranked = adapter.parse_rerank_response(status, body, rerank)  # type: ignore[attr-defined]
    assert [(seen.path, seen.json()) for seen in twin.requests] == [
        ("/v1/embeddings", {"model": "jina-embeddings-v3", "input": ["a b c"], "task": "text-matching", "dimensions": 2}),
        ("/v1/rerank", {"model": "jina-reranker-v2-base-multilingual", "query": "bread recipe", "documents": DOCUMENTS,
                        "top_n": 1, "return_documents": False})]
    assert embedded.body["data"] == [{"object": "embedding", "index": 0, "embedding": [5.0, 0.25]}]
    assert embedded.usage.prompt_tokens == 3
    # return_documents off: the twin echoes documents by default, the answer leaves them out as asked.
    assert ranked.body["results"] == [{"index": 1, "relevance_score": 1.0}]
    assert ranked.usage.prompt_tokens == 17
