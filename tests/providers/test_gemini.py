from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.adapters.gemini import GeminiAdapter
from apps.providers.adapters.gemini_convert import DUMMY_SIGNATURE, signature_from_id, tool_call_id
from apps.providers.base import ChatCall, EmbeddingCall, Frame, ParamNotSupported, Target, UpstreamError
from apps.providers.embedding_format import encode_vector
from tests.providers.translation import check_translation

CASES = ["text", "multi_turn", "tool_call", "tool_result", "thinking", "blocked", "finish_reasons", "stream", "stream_tool",
         "embedding", "error_auth", "error_unauthenticated", "error_rate_limit", "error_rate_limit_header", "error_context",
         "error_invalid", "error_permission", "error_not_found", "error_server", "error_deadline", "error_html"]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_gemini_translation(case: str) -> None:
    check_translation("gemini", case)


# --- direct unit tests (behaviours fixtures cannot express) -------------------------------------------

TARGET = Target(provider="gemini", model="gemini-2.5-flash", api_key="k")


def request_body(messages: list[Any], target: Target = TARGET, **params: Any) -> Any:
    return jsonutil.loads(GeminiAdapter().translate_request(ChatCall(model="g", messages=messages, params=params),
                                                            target).body)


@given(st.text(min_size=1))
def test_any_signature_survives_the_tool_call_id(signature: str) -> None:
    call_id = tool_call_id("call_x", signature)
    assert signature_from_id(call_id) == signature
    assert call_id.replace("-", "").replace("_", "").isalnum()  # safe to echo through any client


def test_signature_returns_to_gemini_from_a_response_id_alone() -> None:
    response = jsonutil.dumps({"candidates": [{"content": {"parts": [
        {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "s/+=="}]}, "finishReason": "STOP"}]})
    [call] = GeminiAdapter().parse_response(200, response, TARGET).body["choices"][0]["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    body = request_body([{"role": "assistant", "tool_calls": [{"id": call["id"], "type": "function",
                                                               "function": call["function"]}]}])
    assert body["contents"][0]["parts"][0]["thoughtSignature"] == "s/+=="


def test_gemini_3_gets_the_documented_stand_in_for_foreign_tool_calls() -> None:
    calls = [{"id": f"toolu_{n}", "type": "function", "function": {"name": "f", "arguments": "{}"}} for n in (1, 2)]
    target = Target(provider="gemini", model="gemini-3-pro-preview", api_key="k")
    parts = request_body([{"role": "assistant", "tool_calls": calls}], target)["contents"][0]["parts"]
    assert [part.get("thoughtSignature") for part in parts] == [DUMMY_SIGNATURE, None]
    assert "thoughtSignature" not in request_body([{"role": "assistant", "tool_calls": calls}])["contents"][0]["parts"][0]


def test_unsupported_parameters_are_refused_or_dropped() -> None:
    with pytest.raises(ParamNotSupported) as caught:
        request_body([{"role": "user", "content": "x"}], logit_bias={"1": 2})
    assert caught.value.param == "logit_bias"
    dropping = Target(provider="gemini", model="gemini-2.5-flash", api_key="k", drop_params=True)
    assert request_body([{"role": "user", "content": "x"}], dropping, logit_bias={"1": 2}) == {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}]}


def test_invalid_tool_arguments_are_a_client_error() -> None:
    with pytest.raises(InvalidRequest):
        request_body([{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1"}}]}])


def test_url_honours_api_version_and_models_prefix() -> None:
    target = Target(provider="gemini", model="models/gemini-2.0-flash", api_version="v1", api_key="k")
    request = GeminiAdapter().translate_request(ChatCall(model="g", messages=[{"role": "user", "content": "x"}]), target)
    assert request.url == "https://generativelanguage.googleapis.com/v1/models/gemini-2.0-flash:generateContent"


def test_midstream_error_raises_the_mapped_error() -> None:
    frame = Frame(data=b'{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}')
    adapter = GeminiAdapter()
    with pytest.raises(UpstreamError) as caught:
        adapter.parse_stream_chunk(frame, adapter.new_stream_state())
    assert (caught.value.status, caught.value.error_code, caught.value.message) == (
        429, "rate_limit_exceeded", "Quota exceeded")


def test_blocked_prompt_in_a_stream_ends_with_content_filter_and_usage() -> None:
    adapter = GeminiAdapter()
    frame = Frame(data=b'{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4},'
                       b' "responseId": "b1"}')
    chunks = adapter.parse_stream_chunk(frame, adapter.new_stream_state())
    assert [chunk.body["choices"] for chunk in chunks] == [
        [{"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": "content_filter",
          "logprobs": None}], []]
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 4


def test_embedding_usage_and_token_arrays() -> None:
    adapter = GeminiAdapter()
    result = adapter.parse_embedding_response(200, b'{"embeddings": [{"values": [1.0]}]}', TARGET)
    assert result.body["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    with pytest.raises(InvalidRequest):
        adapter.translate_embedding_request(EmbeddingCall(model="e", input=[[1, 2]]), TARGET)


def test_vectors_encode_as_openai_base64() -> None:
    assert encode_vector([1.0, -2.0], "base64") == "AACAPwAAAMA="


def test_media_parts_without_extension_or_base64() -> None:
    body = request_body([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://x.test/image"}},
        {"type": "image_url", "image_url": "data:text/plain,hi"},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}}]}])
    assert body["contents"][0]["parts"] == [
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.test/image"}},
        {"inlineData": {"mimeType": "text/plain", "data": "aGk="}},
        {"inlineData": {"mimeType": "audio/mp3", "data": "UklGRg=="}}]
