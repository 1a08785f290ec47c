"""OpenAI chat chunks -> Anthropic's SSE events, in Anthropic's order.

`message_start` and a `ping` come with the first chunk; each run of text, thinking or one tool call's
arguments is a content block (`content_block_start`, its deltas, `content_block_stop`); `message_delta` with
the stop reason and usage and then `message_stop` end the stream. OpenAI sends usage after the finish
reason, so both are held until the upstream stream ends.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.core import jsonutil
from apps.providers.anthropic_messages.response import stop_reason, usage_body
from apps.providers.base import ChatChunk, Usage

PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def event(payload: Mapping[str, Any]) -> bytes:
    """One Anthropic SSE event: `event: <type>` and its JSON."""
    return b"event: " + str(payload["type"]).encode() + b"\ndata: " + jsonutil.dumps(payload) + b"\n\n"


@dataclass(slots=True)
class MessagesStreamState:
    """Where a translated stream is: the open block, the last finish reason, the usage seen."""

    model: str
    input_tokens: int = 0  # announced in message_start before the provider's count arrives
    started: bool = False
    index: int = -1
    block: str = ""  # "text", "thinking", "tool_use" or "" when no block is open
    tool: int | None = None  # the OpenAI index of the open tool call
    finish_reason: str | None = None
    usage: Usage | None = None

    def start(self, body: Mapping[str, Any]) -> list[bytes]:
        self.started = True
        message: dict[str, Any] = {"id": body.get("id") or "", "type": "message", "role": "assistant",
                   "model": body.get("model") or self.model, "content": [], "stop_reason": None,
                   "stop_sequence": None, "usage": {"input_tokens": self.input_tokens, "output_tokens": 0}}
        return [event({"type": "message_start", "message": message}), PING]

    def open(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        events = self.close()
        self.index += 1
        self.block = kind
        return [*events, event({"type": "content_block_start", "index": self.index, "content_block": block})]

    def close(self) -> list[bytes]:
        if not self.block:
            return []
        self.block, self.tool = "", None
        return [event({"type": "content_block_stop", "index": self.index})]

    def delta(self, delta: dict[str, Any]) -> bytes:
        return event({"type": "content_block_delta", "index": self.index, "delta": delta})


def text_events(state: MessagesStreamState, text: str) -> list[bytes]:
    events = [] if state.block == "text" else state.open("text", {"type": "text", "text": ""})
    return [*events, state.delta({"type": "text_delta", "text": text})]


def thinking_events(state: MessagesStreamState, delta: Mapping[str, Any]) -> list[bytes]:
    """Reasoning text as thinking deltas; a finished block's signature as a signature delta; redacted blocks whole."""
    events: list[bytes] = []
    reasoning = delta.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        if state.block != "thinking":
            events += state.open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        events.append(state.delta({"type": "thinking_delta", "thinking": reasoning}))
    for block in delta.get("thinking_blocks") or ():
        if block.get("type") == "redacted_thinking":
            events += state.open("redacted_thinking", {"type": "redacted_thinking", "data": block.get("data", "")})
        elif block.get("signature") and state.block == "thinking":
            events.append(state.delta({"type": "signature_delta", "signature": block["signature"]}))
    return events


def tool_events(state: MessagesStreamState, calls: list[Mapping[str, Any]]) -> list[bytes]:
    """A tool call's first piece opens a tool_use block; its argument pieces are input_json_delta events."""
    events: list[bytes] = []
    for call in calls:
        function = call.get("function") or {}
        index = call.get("index", 0)
        if call.get("id") or state.block != "tool_use" or state.tool != index:
            events += state.open("tool_use", {"type": "tool_use", "id": call.get("id") or "",
                                              "name": function.get("name") or "", "input": {}})
            state.tool = index
        if function.get("arguments"):
            events.append(state.delta({"type": "input_json_delta", "partial_json": function["arguments"]}))
    return events


def chunk_events(state: MessagesStreamState, chunk: ChatChunk) -> list[bytes]:
    """The events one chat chunk gives (often none: role-only and usage-only chunks)."""
    events = [] if state.started else state.start(chunk.body)
    if chunk.usage is not None:
        state.usage = chunk.usage
    for choice in chunk.body.get("choices") or ():
        if choice.get("index", 0) != 0:
            continue  # Anthropic has one answer per call
        delta = choice.get("delta") or {}
        events += thinking_events(state, delta)
        if isinstance(delta.get("content"), str) and delta["content"]:
            events += text_events(state, delta["content"])
        if delta.get("tool_calls"):
            events += tool_events(state, delta["tool_calls"])
        if choice.get("finish_reason"):
            state.finish_reason = choice["finish_reason"]
    return events


def end_events(state: MessagesStreamState, usage: Usage) -> list[bytes]:
    """After the upstream's last chunk: close the open block, then message_delta and message_stop."""
    events = [] if state.started else state.start({})
    events += state.close()
    events.append(event({"type": "message_delta", "delta": {"stop_reason": stop_reason(state.finish_reason),
                                                            "stop_sequence": None}, "usage": usage_body(usage)}))
    events.append(event({"type": "message_stop"}))
    return events


def error_event(kind: str, message: str) -> bytes:
    """Anthropic's mid-stream error event."""
    return event({"type": "error", "error": {"type": kind, "message": message}})
