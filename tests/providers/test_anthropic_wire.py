"""The Anthropic adapter through the real transport against a real HTTP twin of the Messages API."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apps.providers import transport
from apps.providers.base import ChatCall, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.upstreams.anthropic import API_KEY, anthropic_twin, error_twin

ANSWER = {"id": "msg_wire", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
          "content": [{"type": "text", "text": "Checking."},
                      {"type": "tool_use", "id": "toolu_w", "name": "get_weather", "input": {"city": "Oslo"}}],
          "stop_reason": "tool_use", "stop_sequence": None,
          "usage": {"input_tokens": 20, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0,
                    "output_tokens": 12}}
EVENTS = [
    {"type": "message_start", "message": {"id": "msg_s", "type": "message", "role": "assistant", "content": [],
                                          "model": "claude-sonnet-4-20250514", "stop_reason": None,
                                          "usage": {"input_tokens": 20, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0,
     "content_block": {"type": "tool_use", "id": "toolu_s", "name": "get_weather", "input": {}}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ": \"Oslo\"}"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 9}},
    {"type": "message_stop"},
]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}]


@pytest.fixture
async def closing_transport() -> AsyncIterator[None]:
    yield
    await transport.close_all()


def target_for(base_url: str) -> Target:
    return Target(provider="anthropic", model="claude-sonnet-4-20250514", api_base=base_url, api_key=API_KEY)


async def test_completion_round_trip(closing_transport: None) -> None:
    call = ChatCall(model="claude", messages=[{"role": "system", "content": "Be terse."},
                                              {"role": "user", "content": "Weather in Oslo?"}],
                    params={"tools": TOOLS, "max_completion_tokens": 64})
    with anthropic_twin(ANSWER, EVENTS) as twin:
        result = await transport.send_chat(adapter_for("anthropic"), call, target_for(twin.url))
    assert twin.failures == []
    assert twin.requests[0].json() == {
        "model": "claude-sonnet-4-20250514", "max_tokens": 64, "system": "Be terse.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]}],
        "tools": [{"name": "get_weather", "input_schema": SCHEMA}]}
    assert result.body["choices"] == [{"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Checking.",
        "tool_calls": [{"id": "toolu_w", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]}}]
    assert result.usage.as_openai() == {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132,
                                        "prompt_tokens_details": {"cached_tokens": 100}}


async def test_stream_forwards_tool_arguments_and_usage(closing_transport: None) -> None:
    call = ChatCall(model="claude", messages=[{"role": "user", "content": "Weather in Oslo?"}], stream=True,
                    params={"tools": TOOLS})
    with anthropic_twin(ANSWER, EVENTS) as twin:
        stream = await transport.open_chat_stream(adapter_for("anthropic"), call, target_for(twin.url))
        chunks = [chunk async for chunk in stream.chunks()]
    assert twin.failures == []
    assert twin.requests[0].json()["stream"] is True
    deltas = [chunk.body["choices"][0]["delta"] for chunk in chunks if chunk.body["choices"]]
    arguments = "".join(call["function"]["arguments"] for delta in deltas for call in delta.get("tool_calls", []))
    assert arguments == "{\"city\": \"Oslo\"}"
    assert [chunk.body["choices"][0]["finish_reason"] for chunk in chunks if chunk.body["choices"]][-1] == "tool_calls"
    assert chunks[-1].body["choices"] == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.as_openai() == {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}


async def test_overloaded_answer_raises_mapped_error(closing_transport: None) -> None:
    call = ChatCall(model="claude", messages=[{"role": "user", "content": "Hi"}])
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with error_twin(529, body, headers={"retry-after": "3"}) as twin:
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for("anthropic"), call, target_for(twin.url))
    assert twin.failures == []
    error = caught.value
    assert (error.upstream_status, error.error_code, error.message, error.retry_after, error.retryable) == (
        529, "overloaded", "Overloaded", 3.0, True)
