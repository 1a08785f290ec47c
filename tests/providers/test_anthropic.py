from __future__ import annotations

from dataclasses import replace

import pytest

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.base import ChatCall, ParamNotSupported, UpstreamError
from apps.providers.registry import adapter_for
from tests.providers.translation import check_translation, stream_chunks, target_for

TARGET = target_for("anthropic")

CASES = ["text", "prompt_cache", "cache_write", "tool_call", "tool_choice_named", "tool_choice_none", "tool_results",
         "images", "thinking", "refusal", "stream", "stream_tools", "error_auth", "error_rate_limit",
         "error_overloaded", "error_context", "error_invalid", "error_not_found", "error_permission", "error_server",
         "error_gateway_html"]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_anthropic_translation(case: str) -> None:
    check_translation("anthropic", case)


def test_unsupported_parameter_is_refused_unless_dropped() -> None:
    adapter = adapter_for("anthropic")
    call = ChatCall(model="claude", messages=[{"role": "user", "content": "Hi"}],
                    params={"presence_penalty": 0.5, "n": 1, "response_format": {"type": "text"}})
    with pytest.raises(ParamNotSupported) as caught:
        adapter.translate_request(call, TARGET)
    assert caught.value.param == "presence_penalty"
    dropped = adapter.translate_request(call, replace(TARGET, drop_params=True))
    assert jsonutil.loads(dropped.body) == {"model": "claude-sonnet-4-20250514", "max_tokens": 4096,
                                            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}


def test_explicit_thinking_param_passes_through_and_sizes_max_tokens() -> None:
    call = ChatCall(model="claude", messages=[{"role": "user", "content": "Hi"}],
                    params={"thinking": {"type": "enabled", "budget_tokens": 10000}})
    body = jsonutil.loads(adapter_for("anthropic").translate_request(call, TARGET).body)
    assert (body["thinking"], body["max_tokens"]) == ({"type": "enabled", "budget_tokens": 10000}, 14096)


def test_invalid_tool_arguments_are_a_client_error() -> None:
    call = ChatCall(model="claude", messages=[
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "tool_calls": [{"id": "t", "type": "function",
                                              "function": {"name": "f", "arguments": "{not json"}}]}])
    with pytest.raises(InvalidRequest):
        adapter_for("anthropic").translate_request(call, TARGET)


STOP_CASES = [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
              ("refusal", "content_filter")]


@pytest.mark.parametrize(("stop_reason", "finish_reason"),
                         [pytest.param(*pair, id=f"{pair[0]}_case") for pair in STOP_CASES])
def test_stop_reason_maps_to_finish_reason(stop_reason: str, finish_reason: str) -> None:
    raw = jsonutil.dumps({"id": "m", "model": "c", "content": [], "stop_reason": stop_reason, "usage": {}})
    result = adapter_for("anthropic").parse_response(200, raw, TARGET)
    assert result.body["choices"][0]["finish_reason"] == finish_reason


def test_error_event_mid_stream_raises_mapped_error() -> None:
    raw = (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"c","usage":{}}}\n\n'
           b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')
    with pytest.raises(UpstreamError) as caught:
        stream_chunks("anthropic", raw)
    assert (caught.value.upstream_status, caught.value.error_code, caught.value.retryable) == (529, "overloaded", True)


def test_api_base_with_v1_suffix_is_accepted() -> None:
    call = ChatCall(model="claude", messages=[{"role": "user", "content": "Hi"}])
    request = adapter_for("anthropic").translate_request(call, replace(TARGET, api_base="https://proxy.example/v1/"))
    assert request.url == "https://proxy.example/v1/messages"
