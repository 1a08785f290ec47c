"""What a stream cut short is billed for: the characters generated so far, counted per chunk."""
from __future__ import annotations

from apps.teams.stream_meter import chunk_chars


def test_content_reasoning_and_tool_call_arguments_count() -> None:
    body = {"choices": [
        {"index": 0, "delta": {"role": "assistant", "content": "Hello", "reasoning_content": "abc"}},
        {"index": 1, "delta": {"tool_calls": [{"index": 0, "function": {"name": "get", "arguments": "{\"a\":1}"}},
                                              {"index": 1, "function": {"arguments": None}}]}},
    ]}
    assert chunk_chars(body) == len("Hello") + len("abc") + len("get") + len("{\"a\":1}")


def test_legacy_completion_text_counts() -> None:
    body = {"object": "text_completion", "choices": [{"index": 0, "text": "Hello", "finish_reason": None},
                                                     {"index": 1, "text": None}]}
    assert chunk_chars(body) == len("Hello")


def test_chunks_without_text_count_nothing() -> None:
    for body in ({}, {"choices": []}, {"choices": [{"delta": {}}]}, {"choices": [{"delta": None}]},
                 {"choices": ["junk"]}, {"choices": [{"delta": {"content": None, "tool_calls": None}}]}):
        assert chunk_chars(body) == 0
