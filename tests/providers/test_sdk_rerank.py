"""`rerank()` / `arerank()` from Python, through the adapters and the transport, against the wire twins."""
from __future__ import annotations

import openai
import pytest

from apps.providers.sdk import arerank, rerank
from tests.upstreams import cohere, voyage

DOCUMENTS = ["Paris is the capital of France.", {"text": "Berlin is in Germany."}]


def test_cohere_rerank_answers_in_cohere_shape() -> None:
    with cohere.CohereUpstream() as upstream:
        answer = rerank(model="cohere/rerank-v3.5", query="capital", documents=DOCUMENTS, top_n=1,
                        return_documents=True, api_key=cohere.API_KEY, api_base=upstream.url)
        [seen] = upstream.requests
    assert answer.results[0].document.text == DOCUMENTS[0]
    assert dict(answer) == {"id": "rr-1", "results": [{"index": 0, "relevance_score": 1.0,
                                                       "document": {"text": DOCUMENTS[0]}}],
                            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
    assert seen.json() == {"model": "rerank-v3.5", "query": "capital", "top_n": 1,
                           "documents": [DOCUMENTS[0], "Berlin is in Germany."]}


async def test_voyage_arerank_counts_tokens() -> None:
    with voyage.VoyageUpstream() as upstream:
        answer = await arerank(model="voyage/rerank-2.5", query="capital", documents=DOCUMENTS,
                               api_key=voyage.API_KEY, api_base=upstream.url)
    assert [item["index"] for item in answer.results] == [0, 1]
    assert answer.meta == {"billed_units": {"total_tokens": 11}, "tokens": {"input_tokens": 11, "output_tokens": 0}}


def test_a_provider_without_rerank_raises_an_openai_error() -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        rerank(model="openai/gpt-4o", query="q", documents=["d"], api_key="sk-x")
    assert "no rerank API" in str(raised.value)
