"""The Messages API <-> chat translation on its own: request fields, answer blocks, and the event stream."""
from __future__ import annotations

from typing import Any

from apps.core import jsonutil
from apps.providers.anthropic_messages.request import chat_call
from apps.providers.anthropic_messages.response import message_body
from apps.providers.anthropic_messages.stream import MessagesStreamState, chunk_events, end_events
from apps.providers.base import ChatChunk, Usage


def events(state: MessagesStreamState, deltas: list[dict[str, Any]], *, finish: str, usage: Usage) -> list[dict[str, Any]]:
    """The decoded events for chunks carrying `deltas`, then a finish chunk and a usage chunk."""
    chunks = [ChatChunk(body={"id": "c1", "model": "m", "choices": [{"index": 0, "delta": d, "finish_reason": None}]})
              for d in deltas]
    chunks.append(ChatChunk(body={"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    chunks.append(ChatChunk(body={"id": "c1", "choices": [], "usage": usage.as_openai()}, usage=usage))
    raw = b"".join(piece for chunk in chunks for piece in chunk_events(state, chunk)) + b"".join(
        end_events(state, state.usage or Usage()))
    decoded = []
    for block in raw.decode().strip().split("\n\n"):
        name, data = block.split("\n")
        payload = jsonutil.loads(data.removeprefix("data: "))
        assert name == f"event: {payload['type']}"
        decoded.append(payload)
    return decoded


def test_thinking_then_text_stream_as_two_blocks_with_the_signature() -> None:
    got = events(MessagesStreamState(model="m", input_tokens=9),
                 [{"role": "assistant", "content": ""}, {"reasoning_content": "Let me"}, {"reasoning_content": " think"},
                  {"thinking_blocks": [{"type": "thinking", "thinking": "Let me think", "signature": "sig=="}]},
                  {"content": "Hi"}], finish="stop", usage=Usage(prompt_tokens=9, completion_tokens=3))
    assert got == [
        {"type": "message_start", "message": {"id": "c1", "type": "message", "role": "assistant", "model": "m",
                                              "content": [], "stop_reason": None, "stop_sequence": None,
                                              "usage": {"input_tokens": 9, "output_tokens": 0}}},
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": " think"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig=="}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"input_tokens": 9, "output_tokens": 3}},
        {"type": "message_stop"}]


def test_two_streamed_tool_calls_are_two_tool_use_blocks() -> None:
    got = events(MessagesStreamState(model="m"), [
        {"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "{\"x\":"}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]},
        {"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
    ], finish="tool_calls", usage=Usage(prompt_tokens=5, completion_tokens=8, cached_tokens=2))
    blocks = [(e["type"], e.get("index"), e.get("content_block") or e.get("delta")) for e in got[2:-2]]
    assert blocks == [
        ("content_block_start", 0, {"type": "tool_use", "id": "call_a", "name": "f", "input": {}}),
        ("content_block_delta", 0, {"type": "input_json_delta", "partial_json": "{\"x\":"}),
        ("content_block_delta", 0, {"type": "input_json_delta", "partial_json": "1}"}),
        ("content_block_stop", 0, None),
        ("content_block_start", 1, {"type": "tool_use", "id": "call_b", "name": "g", "input": {}}),
        ("content_block_delta", 1, {"type": "input_json_delta", "partial_json": "{}"}),
        ("content_block_stop", 1, None)]
    assert got[-2] == {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                       "usage": {"input_tokens": 3, "output_tokens": 8, "cache_read_input_tokens": 2}}


def test_answer_blocks_keep_reasoning_text_and_tool_arguments() -> None:
    completion = {"id": "c9", "model": "o3", "choices": [{"finish_reason": "length", "message": {
        "role": "assistant", "content": "partial", "reasoning_content": "hmm",
        "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "not json"}}]}}]}
    assert message_body(completion, Usage(prompt_tokens=3, completion_tokens=4), model="x") == {
        "id": "c9", "type": "message", "role": "assistant", "model": "o3", "stop_reason": "max_tokens",
        "stop_sequence": None, "usage": {"input_tokens": 3, "output_tokens": 4},
        "content": [{"type": "thinking", "thinking": "hmm", "signature": ""}, {"type": "text", "text": "partial"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"raw": "not json"}}]}


def test_request_fields_become_chat_fields() -> None:
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}}
    call = chat_call({
        "model": "m", "max_tokens": 9, "stream": True, "top_k": 3, "thinking": {"type": "enabled", "budget_tokens": 6000},
        "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "web_search"}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "read"}, pdf]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"},
                                              {"type": "tool_use", "id": "u1", "name": "f", "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "u1",
                                          "content": [{"type": "text", "text": "4"}, {"type": "text", "text": "2"}]},
                                         {"type": "text", "text": "and?"}]}]})
    assert call.stream is True
    assert call.messages == [
        {"role": "user", "content": [{"type": "text", "text": "read"},
                                     {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBER"}}]},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "u1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]},
        {"role": "tool", "tool_call_id": "u1", "content": "42"},
        {"role": "user", "content": [{"type": "text", "text": "and?"}]}]
    assert dict(call.params) == {
        "max_tokens": 9, "top_k": 3, "reasoning_effort": "medium", "parallel_tool_calls": False,
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
                  {"type": "web_search_20250305", "name": "web_search"}]}
