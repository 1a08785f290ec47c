"""OpenAI's Responses API as a recording twin: `POST /v1/responses` (JSON or SSE), `GET`/`DELETE` of a stored
response, `/input_items` and `/cancel`, with responses kept in memory so `previous_response_id` continues.

It checks what OpenAI checks (the key, a known model field set, an existing previous response) and answers
"Responses twin heard: <last user text>", or calls the first function tool when tools are offered and the last
item is not a tool result. Usage counts words: every input word (earlier turns included) and every output word.
"""
from __future__ import annotations

import itertools
import json
from typing import Any

from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_KEY = "sk-responses-twin"
REPLY = "Responses twin heard:"
KNOWN_FIELDS = {"model", "input", "instructions", "max_output_tokens", "tools", "tool_choice", "text", "reasoning",
                "stream", "store", "previous_response_id", "include", "truncation", "metadata", "temperature", "top_p",
                "parallel_tool_calls", "user", "background", "service_tier"}


def words(value: Any) -> list[str]:
    """Every word of the text in an input (a string, items, content parts)."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [word for part in value for word in words(part)]
    if isinstance(value, dict):
        return [word for key in ("content", "text", "output", "arguments") for word in words(value.get(key))]
    return []


def as_items(value: Any) -> list[dict[str, Any]]:
    return [{"type": "message", "role": "user", "content": value}] if isinstance(value, str) else list(value)


def last_user_text(items: list[dict[str, Any]]) -> str:
    for item in reversed(items):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return " ".join(words(item.get("content")))
    return ""


class ResponsesTwin(RecordingServer):
    """Point an `openai/` deployment's api_base at `api_base`; `pace` seconds go before each streamed event."""

    def __init__(self, *, api_key: str = API_KEY, auth_header: str = "authorization") -> None:
        super().__init__(self.respond)
        self.api_key, self.auth_header = api_key, auth_header
        self.stored: dict[str, dict[str, Any]] = {}
        self.counter = itertools.count(1)
        self.pace = 0.0
        self.failing: Reply | None = None  # answered to every create while set

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    def reset(self) -> None:
        super().reset()
        self.stored.clear()
        self.counter = itertools.count(1)
        self.pace = 0.0
        self.failing = None

    def respond(self, seen: Recorded) -> Reply:
        expected = f"Bearer {self.api_key}" if self.auth_header == "authorization" else self.api_key
        assert seen.headers.get(self.auth_header) == expected, f"wrong {self.auth_header}"
        path = seen.path.removeprefix("/openai").removeprefix("/v1")  # OpenAI's path, and Azure's v1 one
        parts = path.strip("/").split("/")
        assert parts[0] == "responses", f"no route {seen.path}"
        if len(parts) == 1:
            assert seen.method == "POST"
            return self.create(seen.json())
        stored = self.stored.get(parts[1])
        if stored is None:
            return Reply.json(404, {"error": {"message": f"Response with id '{parts[1]}' not found.",
                                              "type": "invalid_request_error", "param": None, "code": None}})
        return self.about(seen, parts[1], parts[2:], stored)

    def about(self, seen: Recorded, response_id: str, rest: list[str], stored: dict[str, Any]) -> Reply:
        if rest == ["input_items"]:
            return Reply.json(200, {"object": "list", "data": stored["input"], "has_more": False})
        if rest == ["cancel"]:
            assert seen.method == "POST", seen.method
            if not stored["response"].get("background"):
                return Reply.json(400, {"error": {"message": "Cannot cancel a synchronous response.",
                                                  "type": "invalid_request_error", "param": None, "code": None}})
            if stored["response"]["status"] in ("queued", "in_progress"):
                stored["response"] = {**stored["response"], "status": "cancelled"}
            return Reply.json(200, stored["response"])
        if seen.method == "DELETE":
            del self.stored[response_id]
            return Reply.json(200, {"id": response_id, "object": "response", "deleted": True})
        return Reply.json(200, stored["response"])

    def create(self, body: dict[str, Any]) -> Reply:
        if self.failing is not None:
            return self.failing
        unknown = sorted(set(body) - KNOWN_FIELDS)
        if unknown:
            return Reply.json(400, {"error": {"message": f"Unknown parameter: '{unknown[0]}'.",
                                              "type": "invalid_request_error", "param": unknown[0],
                                              "code": "unknown_parameter"}})
        history: list[dict[str, Any]] = []
        previous = body.get("previous_response_id")
        if previous:
            if previous not in self.stored:
                return Reply.json(400, {"error": {"message": f"Previous response with id '{previous}' not found.",
                                                  "type": "invalid_request_error", "param": "previous_response_id",
                                                  "code": "previous_response_not_found"}})
            history = self.stored[previous]["context"]
        items = as_items(body["input"])
        response = self.made(body, history + items)
        if body.get("background"):  # queued; `finish_background` completes it, as the provider would later
            assert body.get("store", True) and not body.get("stream"), "background needs store and no stream"
            self.stored[response["id"]] = {"response": {**response, "status": "queued", "output": [], "usage": None,
                                                        "background": True},
                                           "finished": {**response, "background": True}, "input": items,
                                           "context": history + items + response["output"]}
            return Reply.json(200, self.stored[response["id"]]["response"])
        if body.get("store", True):
            self.stored[response["id"]] = {"response": response, "input": items,
                                           "context": history + items + response["output"]}
        if body.get("stream"):
            return Reply.stream(self.events(response), delay=self.pace)
        return Reply.json(200, response)

    def finish_background(self, response_id: str) -> None:
        """The queued background response `response_id` ends completed (its answer made at create)."""
        stored = self.stored[response_id]
        assert stored["response"]["status"] in ("queued", "in_progress"), stored["response"]["status"]
        stored["response"] = stored["finished"]

    def made(self, body: dict[str, Any], context: list[dict[str, Any]]) -> dict[str, Any]:
        number = next(self.counter)
        tools = [tool for tool in body.get("tools") or () if tool.get("type") == "function"]
        if tools and context[-1].get("type") != "function_call_output":
            output = {"type": "function_call", "id": f"fc_twin{number}", "call_id": f"call_twin{number}",
                      "name": tools[0]["name"], "arguments": json.dumps({"city": "Paris"}), "status": "completed"}
        else:
            text = f"{REPLY} {last_user_text(context)}".strip()
            output = {"type": "message", "id": f"msg_twin{number}", "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": text, "annotations": []}]}
        prompt, completion = len(words(context)), len(words(output))
        return {"id": f"resp_twin{number}", "object": "response", "created_at": 1700000000, "status": "completed",
                "model": body["model"], "output": [output], "previous_response_id": body.get("previous_response_id"),
                "instructions": body.get("instructions"), "tools": body.get("tools") or [],
                "tool_choice": body.get("tool_choice", "auto"), "parallel_tool_calls": True, "error": None,
                "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
                          "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
                          "total_tokens": prompt + completion}}

    def events(self, response: dict[str, Any]) -> list[bytes]:
        """OpenAI's event order for one message (or one function call), then response.completed."""
        shell = {**response, "status": "in_progress", "output": [], "usage": None}
        item = response["output"][0]
        events: list[dict[str, Any]] = [{"type": "response.created", "response": shell},
                                        {"type": "response.in_progress", "response": shell}]
        if item["type"] == "message":
            text = item["content"][0]["text"]
            where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
            events += [{"type": "response.output_item.added", "output_index": 0,
                        "item": {**item, "status": "in_progress", "content": []}},
                       {"type": "response.content_part.added", **where,
                        "part": {"type": "output_text", "text": "", "annotations": []}},
                       *[{"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
                         for piece in split_words(text)],
                       {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
                       {"type": "response.content_part.done", **where, "part": item["content"][0]}]
        else:
            events += [{"type": "response.output_item.added", "output_index": 0,
                        "item": {**item, "arguments": "", "status": "in_progress"}},
                       {"type": "response.function_call_arguments.delta", "item_id": item["id"], "output_index": 0,
                        "delta": item["arguments"]},
                       {"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": 0,
                        "arguments": item["arguments"]}]
        events += [{"type": "response.output_item.done", "output_index": 0, "item": item},
                   {"type": "response.completed", "response": response}]
        return [f"event: {event['type']}\ndata: {json.dumps({**event, 'sequence_number': number})}\n\n".encode()
                for number, event in enumerate(events)]


def split_words(text: str) -> list[str]:
    return [word if index == 0 else f" {word}" for index, word in enumerate(text.split())]
