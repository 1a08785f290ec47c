"""A deterministic, offline OpenAI-compatible upstream the transport answers `mock/` calls with.

Pure functions: request JSON in, response bytes out. Text is built from the last user message so
answers are reproducible; tokens are whitespace-separated words so usage is exact and predictable.
"""
from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Iterator
from typing import Any

from apps.core import jsonutil
from apps.providers.embedding_format import encode_vector

REPLY_PREFIX = "This is a mock response to:"


def count_words(value: Any) -> int:
    """Words in a string or in the text parts of a content list."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(part.get("text", "")) for part in value if isinstance(part, dict))
    return 0


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Mock prompt tokens: words plus three per message."""
    return sum(count_words(message.get("content")) + 3 for message in messages)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict)).strip()
            return str(content or "").strip()
    return ""


def reply_words(body: dict[str, Any], choice: int) -> list[str]:
    fixed = body.get("mock_response")
    text = str(fixed) if fixed is not None else f"{REPLY_PREFIX} {last_user_text(body['messages'])}".strip()
    if choice:
        text = f"{text} (choice {choice + 1})"
    return text.split()


def wants_tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool to call, if tools were given, not disabled, and the last turn is not a tool result."""
    # Only function tools can be called here; a provider's own tool types (web_search_...) are ignored.
    tools = [tool for tool in body.get("tools") or [] if isinstance(tool, dict) and tool.get("type") == "function"]
    choice = body.get("tool_choice", "auto")
    if not tools or choice == "none" or body["messages"][-1].get("role") == "tool":
        return None
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        return next((t for t in tools if t.get("function", {}).get("name") == name), tools[0])
    return tools[0]


def tool_arguments(tool: dict[str, Any]) -> str:
    """Arguments for every required property, a placeholder per JSON-schema type."""
    schema = tool.get("function", {}).get("parameters") or {}
    properties = schema.get("properties") or {}
    placeholders = {"string": "mock", "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
    arguments = {name: placeholders.get(properties.get(name, {}).get("type", "string"), "mock")
                 for name in schema.get("required") or []}
    return jsonutil.dumps(arguments).decode()


def response_id(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(jsonutil.dumps(body.get("messages"))).hexdigest()[:24]
    return f"chatcmpl-mock{digest}"


def build_choices(body: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Choices for a non-streamed answer and the completion tokens they hold."""
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    tool = wants_tool_call(body)
    choices, used = [], 0
    for index in range(int(body.get("n") or 1)):
        if tool is not None:
            arguments = tool_arguments(tool)
            call = {"id": f"call_mock{index}", "type": "function",
                    "function": {"name": tool["function"]["name"], "arguments": arguments}}
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
            used += 5
            choices.append({"index": index, "message": message, "logprobs": None, "finish_reason": "tool_calls"})
            continue
        words = reply_words(body, index)
        finish = "stop"
        if isinstance(limit, int) and len(words) > limit:
            words, finish = words[:limit], "length"
        used += len(words)
        message = {"role": "assistant", "content": " ".join(words), "refusal": None}
        choices.append({"index": index, "message": message, "logprobs": None, "finish_reason": finish})
    return choices, used


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_completion(body: dict[str, Any]) -> dict[str, Any]:
    """The full `chat.completion` answer."""
    choices, completion = build_choices(body)
    return {"id": response_id(body), "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "choices": choices, "system_fingerprint": "fp_mock",
            "usage": usage(prompt_tokens(body["messages"]), completion)}


def chat_stream(body: dict[str, Any]) -> Iterator[bytes]:
    """The same answer as SSE events: role, one delta per word (or tool call), finish, usage, [DONE]."""
    answer = chat_completion(body)
    head = {"id": answer["id"], "object": "chat.completion.chunk", "created": answer["created"],
            "model": answer["model"], "system_fingerprint": "fp_mock"}

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + jsonutil.dumps({**head, "choices": choices, **extra}) + b"\n\n"

    for choice in answer["choices"]:
        index, message = choice["index"], choice["message"]
        yield event([{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        if message.get("tool_calls"):
            calls = [{"index": 0, **message["tool_calls"][0]}]
            yield event([{"index": index, "delta": {"tool_calls": calls}, "finish_reason": None}])
        else:
            for position, word in enumerate(message["content"].split()):
                text = word if position == 0 else f" {word}"
                yield event([{"index": index, "delta": {"content": text}, "finish_reason": None}])
        yield event([{"index": index, "delta": {}, "finish_reason": choice["finish_reason"]}])
    if (body.get("stream_options") or {}).get("include_usage"):
        yield event([], usage=answer["usage"])
    yield b"data: [DONE]\n\n"


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A unit-free deterministic vector derived from the text's hash."""
    seed = hashlib.sha256(text.encode()).digest()
    values: list[float] = []
    while len(values) < dimensions:
        seed = hashlib.sha256(seed).digest()
        values.extend(v / 2**32 - 0.5 for v in struct.unpack("<8I", seed))
    return [round(v, 6) for v in values[:dimensions]]


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI embeddings `list` answer."""
    raw = body.get("input")
    inputs = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    dimensions = int(body.get("dimensions") or 8)
    encoding = "base64" if body.get("encoding_format") == "base64" else "float"  # as OpenAI answers
    data = [{"object": "embedding", "index": i, "embedding": encode_vector(embedding_vector(str(text), dimensions),
                                                                          encoding)}
            for i, text in enumerate(inputs)]
    tokens = sum(len(t) if isinstance(t, list) else count_words(str(t)) for t in inputs)
    return {"object": "list", "data": data, "model": body.get("model"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def error(status: int, message: str, param: str | None = None) -> tuple[int, bytes]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return status, jsonutil.dumps({"error": {"message": message, "type": kind, "param": param, "code": None}})


def respond(path: str, raw_body: bytes) -> tuple[int, bytes | Iterator[bytes]]:
    """Answer one request: (status, whole body or an iterator of SSE events)."""
    try:
        body = jsonutil.loads(raw_body)
    except jsonutil.JSONDecodeError:
        return error(400, "request body is not valid JSON")
    if path.endswith("/chat/completions"):
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return error(400, "messages must be a non-empty array", "messages")
        if body.get("stream"):
            return 200, chat_stream(body)
        return 200, jsonutil.dumps(chat_completion(body))
    if path.endswith("/embeddings"):
        if body.get("input") in (None, "", []):
            return error(400, "input must not be empty", "input")
        return 200, jsonutil.dumps(embeddings(body))
    return error(404, f"mock upstream has no route {path}")
