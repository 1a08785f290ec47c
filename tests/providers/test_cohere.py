from __future__ import annotations

from typing import Any

import pytest

from apps.core import jsonutil
from apps.providers.adapters.cohere import CohereAdapter
from apps.providers.base import ChatCall, Frame, ParamNotSupported, Target, UpstreamError
from apps.providers.rerank import RerankCall
from tests.providers.translation import check_translation

CASES = ["text", "multi_turn", "tool_call", "thinking", "stream", "stream_tool", "embedding", "error_auth",
         "error_invalid_token", "error_rate_limit", "error_context", "error_invalid", "error_server", "error_unavailable"]
TARGET = Target(provider="cohere", model="rerank-v3.5", api_key="k")


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_cohere_translation(case: str) -> None:
    check_translation("cohere", case)


def test_rerank_request_and_result() -> None:
    adapter = CohereAdapter()
    call = RerankCall(model="r", query="q", documents=["a", {"text": "b"}, {"title": "c", "body": "d"}], top_n=2,
                      max_tokens_per_doc=512, return_documents=True)
    request = adapter.translate_rerank_request(call, TARGET)
    assert (request.url, request.headers["Authorization"]) == ("https://api.cohere.com/v2/rerank", "Bearer k")
    assert jsonutil.loads(request.body) == {"model": "rerank-v3.5", "query": "q", "top_n": 2, "max_tokens_per_doc": 512,
                                            "documents": ["a", "b", "{\"title\":\"c\",\"body\":\"d\"}"]}
    raw = jsonutil.dumps({"id": "r-1", "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
                          "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}})
    result = adapter.parse_rerank_response(200, raw, call)
    assert result.body == {"id": "r-1", "results": [
        {"index": 1, "relevance_score": 0.9, "document": {"text": "b"}},
        {"index": 0, "relevance_score": 0.1, "document": {"text": "a"}}],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
    assert result.search_units == 1


def test_rerank_without_documents_returns_indices_only() -> None:
    call = RerankCall(model="r", query="q", documents=["a"])
    result = CohereAdapter().parse_rerank_response(200, b'{"id": "x", "results": [{"index": 0, "relevance_score": 0.5}]}',
                                                   call)
    assert result.body["results"] == [{"index": 0, "relevance_score": 0.5}]


def test_stream_error_at_message_end_raises() -> None:
    adapter = CohereAdapter()
    frame = Frame(data=b'{"type": "message-end", "delta": {"finish_reason": "ERROR", "error": "model overloaded"}}')
    with pytest.raises(UpstreamError) as caught:
        adapter.parse_stream_chunk(frame, adapter.new_stream_state())
    assert (caught.value.message, caught.value.retryable) == ("model overloaded", True)


def chat_body(target: Target = TARGET, **params: Any) -> Any:
    call = ChatCall(model="c", messages=[{"role": "user", "content": "x"}], params=params)
    return jsonutil.loads(CohereAdapter().translate_request(call, target).body)


def test_unsupported_parameters_are_refused_or_dropped() -> None:
    with pytest.raises(ParamNotSupported) as caught:
        chat_body(n=2)
    assert caught.value.param == "n"
    with pytest.raises(ParamNotSupported):
        chat_body(logit_bias={"1": 1})
    dropping = Target(provider="cohere", model="command-r", api_key="k", drop_params=True)
    assert chat_body(dropping, n=2, logit_bias={"1": 1}) == {"model": "command-r",
                                                             "messages": [{"role": "user", "content": "x"}]}


def test_tool_choice_none_and_legacy_api_base() -> None:
    target = Target(provider="cohere", model="command-r", api_key="k", api_base="https://api.cohere.ai/v1")
    call = ChatCall(model="c", messages=[{"role": "user", "content": "x"}], params={
        "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"})
    request = CohereAdapter().translate_request(call, target)
    assert request.url == "https://api.cohere.ai/v2/chat"
    assert jsonutil.loads(request.body)["tool_choice"] == "NONE"
