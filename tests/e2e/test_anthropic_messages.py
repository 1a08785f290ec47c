"""/v1/messages through the gateway process with Anthropic's own client, on an OpenAI upstream (translated both ways)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream

WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
REPLY = "This is a mock response to: hello"


@pytest.fixture
def claude(gateway: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=MASTER_KEY, base_url=gateway.url, max_retries=0, timeout=30)


@pytest.fixture
def gpt(upstream_model: Callable[..., Any]) -> str:
    upstream_model("claude-any")
    return "claude-any"


def test_message_is_answered_in_anthropic_shape(claude: anthropic.Anthropic, gpt: str,
                                                upstream: OpenAIUpstream) -> None:
    message = claude.messages.create(model=gpt, max_tokens=50, messages=[{"role": "user", "content": "hello"}])
    assert [(block.type, getattr(block, "text", None)) for block in message.content] == [("text", REPLY)]
    assert (message.role, message.stop_reason, message.model) == ("assistant", "end_turn", "gpt-4o-2024-08-06")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (4, 7)
    [seen] = upstream.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.json() == {"model": "gpt-4o-2024-08-06", "max_tokens": 50,
                           "messages": [{"role": "user", "content": "hello"}]}


def test_system_blocks_images_and_params_reach_the_chat_body(claude: anthropic.Anthropic, gpt: str,
                                                             upstream: OpenAIUpstream) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}}
    claude.messages.create(
        model=gpt, max_tokens=20, extra_body={"temperature": 0.5, "top_p": 0.9}, stop_sequences=["END"], metadata={"user_id": "u-1"},
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Be kind."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "what is this"}, image]}])
    [seen] = upstream.requests
    assert seen.json() == {
        "model": "gpt-4o-2024-08-06", "max_tokens": 20, "temperature": 0.5, "top_p": 0.9, "stop": ["END"],
        "user": "u-1",
        "messages": [{"role": "system", "content": [{"type": "text", "text": "Be brief."},
                                                    {"type": "text", "text": "Be kind."}]},
                     {"role": "user", "content": [{"type": "text", "text": "what is this"},
                                                  {"type": "image_url",
                                                   "image_url": {"url": "data:image/png;base64,iVBORw0K"}}]}]}


def test_string_system_is_one_system_message(claude: anthropic.Anthropic, gpt: str, upstream: OpenAIUpstream) -> None:
    claude.messages.create(model=gpt, max_tokens=5, system="Be brief.", messages=[{"role": "user", "content": "hi"}])
    assert upstream.requests[0].json()["messages"] == [{"role": "system", "content": "Be brief."},
                                                       {"role": "user", "content": "hi"}]


def test_tool_use_round_trip(claude: anthropic.Anthropic, gpt: str, upstream: OpenAIUpstream) -> None:
    first = claude.messages.create(model=gpt, max_tokens=50, tools=[WEATHER], tool_choice={"type": "any"},
                                   messages=[{"role": "user", "content": "weather in Paris?"}])
    [tool_use] = first.content
    assert (tool_use.type, tool_use.id, tool_use.name, tool_use.input) == ("tool_use", "call_mock0", "get_weather",
                                                                          {"city": "mock"})
    assert first.stop_reason == "tool_use"
    history = [{"role": "user", "content": "weather in Paris?"},
               {"role": "assistant", "content": [block.model_dump() for block in first.content]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}]}]
    second = claude.messages.create(model=gpt, max_tokens=50, tools=[WEATHER], messages=history)
    assert second.content[0].type == "text" and second.stop_reason == "end_turn"
    sent = [request.json() for request in upstream.requests]
    assert sent[0]["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city", "parameters": WEATHER["input_schema"]}}]
    assert sent[0]["tool_choice"] == "required"
    assert sent[1]["messages"] == [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_mock0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"mock"}'}}]},
        {"role": "tool", "tool_call_id": "call_mock0", "content": "sunny"}]


def test_stream_gives_anthropic_events_and_the_final_message(claude: anthropic.Anthropic, gpt: str) -> None:
    with claude.messages.stream(model=gpt, max_tokens=50, messages=[{"role": "user", "content": "hello"}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds == ["message_start", "content_block_start", *["content_block_delta", "text"] * 7,
                     "content_block_stop", "message_delta", "message_stop"]
    assert [block.text for block in final.content if block.type == "text"] == [REPLY]
    assert (final.stop_reason, final.usage.input_tokens, final.usage.output_tokens) == ("end_turn", 4, 7)


def test_stream_wire_order_has_ping_and_usage(http: httpx.Client, gpt: str) -> None:
    body = {"model": gpt, "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hello"}]}
    with http.stream("POST", "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}) as response:
        lines = [line for line in response.iter_lines() if line.startswith("event: ")]
        assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("event: ") for line in lines]
    assert events == ["message_start", "ping", "content_block_start", *["content_block_delta"] * 7,
                      "content_block_stop", "message_delta", "message_stop"]


def test_streamed_tool_use_sends_input_json_deltas(claude: anthropic.Anthropic, gpt: str) -> None:
    with claude.messages.stream(model=gpt, max_tokens=50, tools=[WEATHER],
                                messages=[{"role": "user", "content": "weather?"}]) as stream:
        deltas = [event.delta.partial_json for event in stream
                  if event.type == "content_block_delta" and event.delta.type == "input_json_delta"]
        final = stream.get_final_message()
    assert deltas == ['{"city":"mock"}']
    [tool_use] = final.content
    assert (tool_use.type, tool_use.name, tool_use.input, final.stop_reason) == ("tool_use", "get_weather",
                                                                                {"city": "mock"}, "tool_use")


def test_count_tokens(claude: anthropic.Anthropic, gpt: str, upstream: OpenAIUpstream) -> None:
    counted = claude.messages.count_tokens(model=gpt, system="Be brief.",
                                           messages=[{"role": "user", "content": "hello there, how are you"}])
    assert counted.input_tokens == 3 + (4 + 3) + (4 + 6)  # reply priming, then each message: 4 + ceil(chars / 4)
    assert upstream.requests == []


def test_key_is_read_from_authorization_bearer_too(gateway: GatewayProcess, gpt: str) -> None:
    client = anthropic.Anthropic(auth_token=MASTER_KEY, base_url=gateway.url, max_retries=0)
    message = client.messages.create(model=gpt, max_tokens=5, messages=[{"role": "user", "content": "hello"}])
    assert message.content[0].type == "text"


BAD_BODIES = [
    pytest.param({"messages": [{"role": "user", "content": "x"}]}, 400, "max_tokens: Field required", id="no_max_tokens_case"),
    pytest.param({"max_tokens": 5, "messages": []}, 400, "messages: at least one message is required",
                 id="empty_messages_case"),
    pytest.param({"max_tokens": 5, "messages": [{"role": "assistant", "content": "x"}]}, 400,
                 'messages: first message must use the "user" role', id="assistant_first_case"),
    pytest.param({"max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, 400,
                 "messages.0.role: Unexpected role 'system'. The Messages API accepts a top-level `system` parameter, "
                 "not \"system\" as an input message role; roles are \"user\" and \"assistant\".", id="system_role_case"),
    pytest.param({"max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_x", "content": "x"}]}]}, 400,
                 "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x. Each "
                 "`tool_result` block must have a corresponding `tool_use` block in the previous message.",
                 id="orphan_tool_result_case"),
    pytest.param({"model": "no-such-model", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, 404,
                 "The model `no-such-model` does not exist or you do not have access to it.", id="unknown_model_case"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES)
def test_bad_input_gets_an_anthropic_error_and_serving_goes_on(http: httpx.Client, gpt: str, body: dict[str, Any],
                                                               status: int, message: str) -> None:
    answer = http.post("/v1/messages", json={"model": gpt, **body})
    assert answer.status_code == status
    kind = {400: "invalid_request_error", 404: "not_found_error"}[status]
    assert answer.json() == {"type": "error", "error": {"type": kind, "message": message},
                             "request_id": answer.headers["x-request-id"]}
    again = http.post("/v1/messages", json={"model": gpt, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert again.status_code == 200


def test_sdk_raises_its_own_errors(gateway: GatewayProcess, claude: anthropic.Anthropic, gpt: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude.messages.create(model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert missing.value.body["error"]["type"] == "not_found_error"
    stranger = anthropic.Anthropic(api_key="sk-wrong", base_url=gateway.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as refused:
        stranger.messages.create(model=gpt, max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert refused.value.body == {"type": "error", "error": {"type": "authentication_error", "message": "Invalid API key."},
                                  "request_id": refused.value.response.headers["x-request-id"]}
