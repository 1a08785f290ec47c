"""The Responses API over chat, without HTTP: ids, input items, the chat call, the Response, the event stream."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from apps.core.errors import InvalidRequest
from apps.providers.base import ChatChunk, Usage
from apps.providers.responses import ids
from apps.providers.responses.items import input_items, portable, translate
from apps.providers.responses.output import chat_response
from apps.providers.responses.request import bridged_call
from apps.providers.responses.stream import new_state


def test_ids_round_trip_and_never_hold_a_slash() -> None:
    made = ids.encode(provider="azure", model_id="dep/1?x", response_id="resp_abc")
    assert made.startswith("resp_") and "/" not in made and "=" not in made
    assert ids.decode(made) == ids.DecodedId(provider="azure", model_id="dep/1?x", response_id="resp_abc")


def test_litellm_encoded_ids_decode() -> None:
    text = "litellm:custom_llm_provider:openai;model_id:abc-123;response_id:resp_xyz"
    assert ids.decode("resp_" + base64.b64encode(text.encode()).decode()) == ids.DecodedId(
        provider="openai", model_id="abc-123", response_id="resp_xyz")


@pytest.mark.parametrize("value", [pytest.param("resp_abc", id="provider_id_case"),
                                   pytest.param("msg_abc", id="other_prefix_case"),
                                   pytest.param("resp_" + base64.b64encode(b"no;parts").decode(), id="foreign_case")])
def test_other_ids_do_not_decode(value: str) -> None:
    assert ids.decode(value) is None


def test_a_string_input_is_one_user_message_and_role_only_items_are_messages() -> None:
    assert input_items("hi") == [{"type": "message", "role": "user", "content": "hi"}]
    assert input_items([{"role": "assistant", "content": "yo"}]) == [
        {"type": "message", "role": "assistant", "content": "yo"}]


@pytest.mark.parametrize(("value", "param"), [
    pytest.param([{"type": "nope"}], "input[0].type", id="item_type_case"),
    pytest.param([{"type": "function_call_output", "output": "x"}], "input[0].call_id", id="no_call_id_case"),
    pytest.param([{"role": "user"}], "input[0].content", id="no_content_case"),
    pytest.param([{"role": "user", "content": 3}], "input[0].content", id="content_type_case"),
    pytest.param(7, "input", id="input_type_case"),
])
def test_bad_items_name_their_place(value: Any, param: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        input_items(value)
    assert refused.value.param == param


def test_what_chat_cannot_carry_is_reported() -> None:
    items = input_items([{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]},
                         {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                         {"type": "reasoning", "id": "rs_1", "summary": []}])
    done = bridged_call({"model": "m", "tools": [{"type": "web_search"}]}, items)
    assert done.problems == ("input[0].content[0]: an 'input_image' part given by file id", "input[1]: item type "
                             "'web_search_call'", "tools[0]: tool type 'web_search'")


def test_function_calls_join_the_assistant_turn_before_them() -> None:
    items = input_items([{"role": "assistant", "content": "let me check"},
                         {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
                         {"type": "function_call", "call_id": "b", "name": "g", "arguments": "{}"}])
    [message] = translate(items).messages
    assert message["content"] == "let me check"
    assert [call["id"] for call in message["tool_calls"]] == ["a", "b"]


def test_portable_items_drop_ids_statuses_and_reasoning() -> None:
    items = [{"type": "reasoning", "id": "rs"}, {"type": "message", "id": "msg", "status": "completed",
                                                 "role": "assistant", "content": []}]
    assert portable(items) == [{"type": "message", "role": "assistant", "content": []}]


def test_a_cut_answer_is_incomplete_and_reasoning_comes_first() -> None:
    completion = {"model": "m", "choices": [{"finish_reason": "length", "message": {
        "role": "assistant", "content": "partial", "reasoning_content": "thinking"}}]}
    body = chat_response(completion, Usage(prompt_tokens=3, completion_tokens=2, reasoning_tokens=1),
                         {"model": "g"}, response_id="resp_1", model="m", previous_response_id=None)
    assert (body["status"], body["incomplete_details"]) == ("incomplete", {"reason": "max_output_tokens"})
    assert [item["type"] for item in body["output"]] == ["reasoning", "message"]
    assert body["usage"] == {"input_tokens": 3, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
                             "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 5}


def chunk(delta: dict[str, Any], finish: str | None = None) -> ChatChunk:
    return ChatChunk(body={"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def events_of(raw: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(part.split(b"data: ", 1)[1]) for blob in raw for part in blob.split(b"\n\n") if part]


def test_stream_moves_from_reasoning_to_text_to_a_tool_call() -> None:
    state = new_state({"model": "g"}, response_id="resp_1", model="m", previous_response_id=None)
    raw = [*state.chunk(chunk({"reasoning_content": "hmm"})), *state.chunk(chunk({"content": "Hi"})),
           *state.chunk(chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f",
                                                                                       "arguments": "{\"a\""}}]})),
           *state.chunk(chunk({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}, "tool_calls"))]
    tail, body = state.finish(Usage(prompt_tokens=1, completion_tokens=2))
    events = events_of([*raw, *tail, state.final_event(body)])
    assert [event["type"] for event in events] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed"]
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert [item["type"] for item in body["output"]] == ["reasoning", "message", "function_call"]
    assert body["output"][2]["arguments"] == '{"a":1}' and body["output"][2]["call_id"] == "call_1"
    assert len({item["id"] for item in body["output"]}) == 3


def test_a_failure_mid_stream_ends_with_error_and_response_failed() -> None:
    state = new_state({"model": "g"}, response_id="resp_1", model="m", previous_response_id=None)
    events = events_of([*state.chunk(chunk({"content": "Hi"})), *state.failed(code="timeout", message="slow")])
    assert [event["type"] for event in events][-3:] == ["response.output_item.done", "error", "response.failed"]
    assert events[-1]["response"]["status"] == "failed"
    assert events[-1]["response"]["error"] == {"code": "timeout", "message": "slow"}


@pytest.mark.parametrize(("provider", "extra", "url"), [
    pytest.param("openai", {}, "https://api.example.com/v1/responses/resp_1/cancel", id="openai_case"),
    pytest.param("azure", {}, "https://r.openai.azure.com/openai/v1/responses/resp_1/cancel?api-version=preview",
                 id="azure_default_case"),
    pytest.param("azure", {"api_version": "2025-03-01-preview"},
                 "https://r.openai.azure.com/openai/responses/resp_1/cancel?api-version=2025-03-01-preview",
                 id="azure_dated_case"),
    pytest.param("azure", {"api_version": "v1"}, "https://r.openai.azure.com/openai/v1/responses/resp_1/cancel",
                 id="azure_v1_case"),
])
def test_responses_endpoints_of_openai_and_azure(provider: str, extra: dict[str, str], url: str) -> None:
    from apps.providers.adapters.responses_api import responses_endpoint
    from apps.providers.base import Target
    from apps.providers.registry import adapter_for

    base = "https://api.example.com/v1" if provider == "openai" else "https://r.openai.azure.com/openai"
    endpoint = responses_endpoint(adapter_for(provider))
    assert endpoint is not None
    target = Target(provider=provider, model="m", api_base=base, api_key="k", api_version=extra.get("api_version"))
    assert endpoint.about(target, "resp_1", method="POST", suffix="/cancel").url == url


@pytest.mark.parametrize("provider", ["hosted_vllm", "groq", "mock", "anthropic"])
def test_other_providers_are_served_over_chat(provider: str) -> None:
    from apps.providers.adapters.responses_api import responses_endpoint
    from apps.providers.registry import adapter_for

    assert responses_endpoint(adapter_for(provider)) is None


def test_a_passed_stream_renames_only_the_response_and_keeps_the_rest() -> None:
    from apps.providers.base import Frame
    from apps.providers.responses.passthrough import PassedStream, Renamer

    reader = PassedStream(rename=Renamer(encode=lambda value: f"gw-{value}", previous_response_id="gw-prev"))
    delta = b'{"type":"response.output_text.delta","delta":"Hi","item_id":"msg_1"}'
    out = [reader.feed(Frame(data=delta, event="response.output_text.delta")),
           reader.feed(Frame(data=b"[DONE]")),
           reader.feed(Frame(data=b'{"type":"response.completed","response":{"id":"resp_1","usage":'
                                  b'{"input_tokens":3,"output_tokens":1}}}', event="response.completed"))]
    assert out[0] == b"event: response.output_text.delta\ndata: " + delta + b"\n\n"
    assert out[1] == b"data: [DONE]\n\n"
    assert json.loads(out[2].split(b"data: ", 1)[1])["response"]["id"] == "gw-resp_1"
    assert reader.final is not None and reader.final["previous_response_id"] == "gw-prev"
    assert (reader.usage, reader.generated_chars, reader.upstream_id) == (
        Usage(prompt_tokens=3, completion_tokens=1), 2, "resp_1")
