from __future__ import annotations

from dataclasses import replace

import pytest

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.base import ChatCall, EmbeddingCall, ParamNotSupported, UpstreamError
from apps.providers.registry import adapter_for
from tests.providers.translation import check_translation, stream_chunks, target_for
from tests.upstreams.bedrock import event, exception

CASES = ["text", "tool_call", "tool_results", "images", "thinking", "guardrail", "embedding", "embedding_cohere",
         "stream", "stream_reasoning", "error_auth", "error_rate_limit", "error_context", "error_validation",
         "error_access_denied", "error_not_found", "error_unavailable", "error_model_timeout", "error_gateway_html"]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_bedrock_translation(case: str) -> None:
    check_translation("bedrock", case)


TARGET = target_for("bedrock")
HELLO = [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(("model", "url"), [
    pytest.param("eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
                 "https://bedrock-runtime.us-west-2.amazonaws.com/model/"
                 "eu.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse",
                 id="eu_profile_case"),
    pytest.param("apac.amazon.nova-pro-v1:0",
                 "https://bedrock-runtime.us-west-2.amazonaws.com/model/apac.amazon.nova-pro-v1%3A0/converse",
                 id="apac_profile_case"),
    pytest.param("converse/meta.llama3-1-70b-instruct-v1:0",
                 "https://bedrock-runtime.us-west-2.amazonaws.com/model/meta.llama3-1-70b-instruct-v1%3A0/converse",
                 id="converse_route_case"),
    pytest.param("arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123",
                 "https://bedrock-runtime.us-west-2.amazonaws.com/model/"
                 "arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/converse",
                 id="arn_case")])
def test_model_ids_are_one_encoded_path_segment(model: str, url: str) -> None:
    call = ChatCall(model="m", messages=HELLO)
    request = adapter_for("bedrock").translate_request(call, replace(TARGET, model=model))
    assert request.url == url


def test_region_comes_from_the_arn_when_not_configured() -> None:
    target = replace(TARGET, model="arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.x",
                     extra={k: v for k, v in TARGET.extra.items() if k != "aws_region_name"})
    request = adapter_for("bedrock").translate_request(ChatCall(model="m", messages=HELLO), target)
    assert request.url.startswith("https://bedrock-runtime.eu-west-1.amazonaws.com/model/")
    assert "/eu-west-1/bedrock/aws4_request" in adapter_for("bedrock").sign(request, target).headers["Authorization"]


def test_exception_event_mid_stream_raises_mapped_error() -> None:
    raw = event("messageStart", {"role": "assistant"}) + exception("throttlingException", "Too many tokens, slow down")
    with pytest.raises(UpstreamError) as caught:
        stream_chunks("bedrock", raw)
    error = caught.value
    assert (error.upstream_status, error.error_code, error.error_type, error.message, error.retryable) == (
        429, "rate_limit_exceeded", "rate_limit_error", "Too many tokens, slow down", True)


def test_validation_exception_mid_stream_is_a_client_error() -> None:
    with pytest.raises(UpstreamError) as caught:
        stream_chunks("bedrock", exception("validationException", "Input is too long for requested model."))
    assert (caught.value.upstream_status, caught.value.error_code) == (400, "context_length_exceeded")


def test_titan_embedding_request_is_one_input() -> None:
    target = replace(TARGET, model="amazon.titan-embed-text-v2:0")
    request = adapter_for("bedrock").translate_embedding_request(
        EmbeddingCall(model="e", input=["hello"], params={"dimensions": 256}), target)
    assert request.url == "https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke"
    assert jsonutil.loads(request.body) == {"inputText": "hello", "dimensions": 256}
    with pytest.raises(InvalidRequest, match="one input per request"):
        adapter_for("bedrock").translate_embedding_request(EmbeddingCall(model="e", input=["a", "b"]), target)


@pytest.mark.parametrize("encoding_format", [pytest.param("float", id="float_case"),
                                             pytest.param("base64", id="base64_sdk_default_case")])
def test_titan_embedding_takes_the_sdk_encoding_formats(encoding_format: str) -> None:
    target = replace(TARGET, model="amazon.titan-embed-text-v2:0")
    call = EmbeddingCall(model="e", input="hello", params={"encoding_format": encoding_format})
    request = adapter_for("bedrock").translate_embedding_request(call, target)
    assert jsonutil.loads(request.body) == {"inputText": "hello"}


def test_unknown_embedding_encoding_format_is_refused() -> None:
    call = EmbeddingCall(model="e", input="hello", params={"encoding_format": "int8"})
    with pytest.raises(ParamNotSupported):
        adapter_for("bedrock").translate_embedding_request(call, replace(TARGET, model="amazon.titan-embed-text-v2:0"))


def test_cohere_embedding_request_batches_texts() -> None:
    target = replace(TARGET, model="cohere.embed-english-v3")
    request = adapter_for("bedrock").translate_embedding_request(
        EmbeddingCall(model="e", input=["a", "b"], params={"input_type": "search_query"}), target)
    assert jsonutil.loads(request.body) == {"texts": ["a", "b"], "input_type": "search_query"}
    with pytest.raises(ParamNotSupported):
        adapter_for("bedrock").translate_embedding_request(
            EmbeddingCall(model="e", input="a", params={"dimensions": 8}), target)


def test_titan_embedding_usage_is_input_token_count() -> None:
    result = adapter_for("bedrock").parse_embedding_response(
        200, b'{"embedding": [0.5], "inputTextTokenCount": 3}', replace(TARGET, model="amazon.titan-embed-text-v2:0"))
    assert result.body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert result.usage.prompt_tokens == 3


def test_http_image_urls_are_refused() -> None:
    call = ChatCall(model="m", messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])
    with pytest.raises(InvalidRequest, match="data: URLs"):
        adapter_for("bedrock").translate_request(call, TARGET)


def test_parallel_tool_calls_off_is_refused_unless_dropped() -> None:
    call = ChatCall(model="m", messages=HELLO, params={"parallel_tool_calls": False, "seed": 3})
    with pytest.raises(ParamNotSupported):
        adapter_for("bedrock").translate_request(call, TARGET)
    body = jsonutil.loads(adapter_for("bedrock").translate_request(call, replace(TARGET, drop_params=True)).body)
    assert body == {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}


def test_reasoning_effort_goes_to_non_claude_models_as_is() -> None:
    call = ChatCall(model="m", messages=HELLO, params={"reasoning_effort": "high"})
    target = replace(TARGET, model="openai.gpt-oss-120b-1:0")
    body = jsonutil.loads(adapter_for("bedrock").translate_request(call, target).body)
    assert body["additionalModelRequestFields"] == {"reasoning_effort": "high"}
    assert "inferenceConfig" not in body
