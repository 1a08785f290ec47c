"""OpenAI chat chunks -> the Responses API's SSE events, in OpenAI's order.

`response.created` and `response.in_progress` open the stream. Each run of text is a message item
(`output_item.added`, `content_part.added`, `output_text.delta`..., then `output_text.done`, `content_part.done`,
`output_item.done`), reasoning a reasoning item with summary-text events, each tool call a function_call item
(`function_call_arguments.delta`... `.done`). `response.completed` (or `response.incomplete`) carries the whole
response with usage. Every event has the next `sequence_number`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.core import jsonutil
from apps.providers.base import ChatChunk, Usage
from apps.providers.responses.output import (
    function_call_item,
    item_id,
    message_item,
    reasoning_item,
    response_object,
)


def sse(payload: Mapping[str, Any]) -> bytes:
    """One Responses SSE event: `event: <type>` and its JSON."""
    return b"event: " + str(payload["type"]).encode() + b"\ndata: " + jsonutil.dumps(payload) + b"\n\n"


@dataclass(slots=True)
class OpenItem:
    """The output item being streamed: its kind, its item, and the text or arguments gathered so far."""

    kind: str  # "message", "reasoning" or "function_call"
    item: dict[str, Any]
    index: int
    text: str = ""
    tool: int | None = None  # the chat index of the tool call


@dataclass(slots=True)
class ResponsesStreamState:
    """Where a translated stream is: the response being built, its items, the next sequence number."""

    shell: Callable[..., dict[str, Any]]  # (output=, status=, finish_reason=, usage=) -> the Response object
    sequence: int = 0
    started: bool = False
    output: list[dict[str, Any]] = field(default_factory=list)
    current: OpenItem | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str = ""

    def event(self, payload: dict[str, Any]) -> bytes:
        payload["sequence_number"] = self.sequence
        self.sequence += 1
        return sse(payload)

    def response(self, status: str, usage: Usage | None = None) -> dict[str, Any]:
        return self.shell(output=list(self.output), status=status, finish_reason=self.finish_reason, usage=usage,
                          model=self.model)

    def start(self) -> list[bytes]:
        self.started = True
        body = self.response("in_progress")
        return [self.event({"type": "response.created", "response": body}),
                self.event({"type": "response.in_progress", "response": body})]

    def open(self, kind: str, item: dict[str, Any]) -> list[bytes]:
        events = self.close()
        self.current = OpenItem(kind=kind, item=item, index=len(self.output))
        events.append(self.event({"type": "response.output_item.added", "output_index": self.current.index,
                                  "item": item}))
        where = {"item_id": item["id"], "output_index": self.current.index}
        if kind == "message":
            part = {"type": "output_text", "text": "", "annotations": []}
            events.append(self.event({"type": "response.content_part.added", **where, "content_index": 0,
                                      "part": part}))
        elif kind == "reasoning":
            events.append(self.event({"type": "response.reasoning_summary_part.added", **where, "summary_index": 0,
                                      "part": {"type": "summary_text", "text": ""}}))
        return events

    def close(self) -> list[bytes]:
        current, self.current = self.current, None
        if current is None:
            return []
        where = {"item_id": current.item["id"], "output_index": current.index}
        events = []
        if current.kind == "message":
            done = message_item(current.text, item=current.item["id"])
            part = done["content"][0]
            events += [self.event({"type": "response.output_text.done", **where, "content_index": 0,
                                   "text": current.text, "logprobs": []}),
                       self.event({"type": "response.content_part.done", **where, "content_index": 0, "part": part})]
        elif current.kind == "reasoning":
            done = reasoning_item(current.text, item=current.item["id"])
            events += [self.event({"type": "response.reasoning_summary_text.done", **where, "summary_index": 0,
                                   "text": current.text}),
                       self.event({"type": "response.reasoning_summary_part.done", **where, "summary_index": 0,
                                   "part": {"type": "summary_text", "text": current.text}})]
        else:
            item = current.item
            done = function_call_item(item["call_id"], item["name"], current.text, item=item["id"])
            events.append(self.event({"type": "response.function_call_arguments.done", **where,
                                      "arguments": current.text}))
        self.output.append(done)
        events.append(self.event({"type": "response.output_item.done", "output_index": current.index, "item": done}))
        return events

    def text(self, kind: str, delta: str) -> list[bytes]:
        """Text for the open message (or reasoning) item, opening one first when another kind is open."""
        events: list[bytes] = []
        if self.current is None or self.current.kind != kind:
            item = message_item("", status="in_progress") if kind == "message" else \
                {**reasoning_item(""), "summary": []}
            events += self.open(kind, item)
        assert self.current is not None
        self.current.text += delta
        where = {"item_id": self.current.item["id"], "output_index": self.current.index}
        if kind == "message":
            events.append(self.event({"type": "response.output_text.delta", **where, "content_index": 0,
                                      "delta": delta, "logprobs": []}))
        else:
            events.append(self.event({"type": "response.reasoning_summary_text.delta", **where, "summary_index": 0,
                                      "delta": delta}))
        return events

    def tool_calls(self, calls: list[Mapping[str, Any]]) -> list[bytes]:
        """A tool call's first piece opens a function_call item; its argument pieces are argument deltas."""
        events: list[bytes] = []
        for call in calls:
            function = call.get("function") or {}
            index = call.get("index", 0)
            current = self.current
            if call.get("id") or current is None or current.kind != "function_call" or current.tool != index:
                item = function_call_item(str(call.get("id") or item_id("call")), str(function.get("name") or ""),
                                          "", status="in_progress")
                events += self.open("function_call", item)
                assert self.current is not None
                self.current.tool = index
            assert self.current is not None
            if function.get("arguments"):
                self.current.text += function["arguments"]
                events.append(self.event({"type": "response.function_call_arguments.delta",
                                          "item_id": self.current.item["id"], "output_index": self.current.index,
                                          "delta": function["arguments"]}))
        return events

    def chunk(self, chunk: ChatChunk) -> list[bytes]:
        """The events one chat chunk gives (often none: role-only and usage-only chunks)."""
        events = [] if self.started else self.start()
        if chunk.usage is not None:
            self.usage = chunk.usage
        self.model = self.model or str(chunk.body.get("model") or "")
        for choice in chunk.body.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # a response has one answer
            delta = choice.get("delta") or {}
            if isinstance(delta.get("reasoning_content"), str) and delta["reasoning_content"]:
                events += self.text("reasoning", delta["reasoning_content"])
            if isinstance(delta.get("content"), str) and delta["content"]:
                events += self.text("message", delta["content"])
            if delta.get("tool_calls"):
                events += self.tool_calls(delta["tool_calls"])
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def finish(self, usage: Usage) -> tuple[list[bytes], dict[str, Any]]:
        """Close the open item; the final response (completed or incomplete), and the events before its own."""
        events = [] if self.started else self.start()
        events += self.close()
        return events, self.response("completed", usage)

    def final_event(self, body: dict[str, Any]) -> bytes:
        kind = "response.incomplete" if body["status"] == "incomplete" else "response.completed"
        return self.event({"type": kind, "response": body})

    def failed(self, *, code: str, message: str) -> list[bytes]:
        """An `error` event and `response.failed`, for an upstream failure after the first byte."""
        events = [] if self.started else self.start()
        events += self.close()
        body = self.response("failed")
        body["error"] = {"code": code, "message": message}
        return [*events, self.event({"type": "error", "code": code, "message": message, "param": None}),
                self.event({"type": "response.failed", "response": body})]


def new_state(body: Mapping[str, Any], *, response_id: str, model: str,
              previous_response_id: str | None) -> ResponsesStreamState:
    """A stream state for request `body`, answering as `response_id` (for `model` until the chunks name theirs)."""
    def shell(*, output: list[dict[str, Any]], status: str, finish_reason: str | None, usage: Usage | None,
              model: str) -> dict[str, Any]:
        return response_object(body, response_id=response_id, model=model or default_model, output=output,
                               status=status, finish_reason=finish_reason, usage=usage,
                               previous_response_id=previous_response_id)
    default_model = model
    return ResponsesStreamState(shell=shell)
