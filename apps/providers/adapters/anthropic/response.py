"""Anthropic answers -> OpenAI shapes: messages, usage, errors, and the SSE event stream.

Usage choice: OpenAI's `prompt_tokens` counts every prompt token the model read, so it is
`input_tokens + cache_read_input_tokens + cache_creation_input_tokens` (Anthropic's `input_tokens`
excludes both cache kinds; LiteLLM adds them the same way). `cached_tokens` is the cache reads,
`cache_creation_tokens` the cache writes, so billing can price all three separately.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core import jsonutil
from apps.providers.adapters.openai import retry_after_seconds
from apps.providers.base import BasicStreamState, ChatChunk, UpstreamError, Usage, usage_body

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
                "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"}
ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
                "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
                "timeout_error": 504, "overloaded_error": 529}
STATUS_ERROR = {status: kind for kind, status in ERROR_STATUS.items()}
# Anthropic error type -> (OpenAI error type, code).
OPENAI_ERRORS = {"invalid_request_error": ("invalid_request_error", None),
                 "authentication_error": ("authentication_error", "invalid_api_key"),
                 "permission_error": ("permission_error", "permission_denied"),
                 "not_found_error": ("invalid_request_error", "not_found"),
                 "request_too_large": ("invalid_request_error", "request_too_large"),
                 "rate_limit_error": ("rate_limit_error", "rate_limit_exceeded"),
                 "timeout_error": ("timeout", "timeout"),
                 "overloaded_error": ("api_error", "overloaded"),
                 "api_error": ("api_error", None)}
CONTEXT_MARKERS = ("prompt is too long", "context window", "context length", "too many tokens",
                   "input is too long")
POLICY_MARKERS = ("content filtering policy", "content policy", "usage policy")


# --- usage -------------------------------------------------------------------------------------------

def usage_from_anthropic(raw: Mapping[str, Any] | None) -> Usage:
    """Normalise Anthropic usage; prompt tokens include cache reads and writes (see module docstring)."""
    raw = raw or {}
    cached = int(raw.get("cache_read_input_tokens") or 0)
    created = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(prompt_tokens=int(raw.get("input_tokens") or 0) + cached + created,
                 completion_tokens=int(raw.get("output_tokens") or 0), cached_tokens=cached,
                 cache_creation_tokens=created)


# --- complete answers ------------------------------------------------------------------------------

def message_from_blocks(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """An OpenAI assistant message from Anthropic content blocks (thinking blocks kept with signatures)."""
    texts = [block["text"] for block in blocks if block.get("type") == "text"]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    tool_calls = [{"id": block["id"], "type": "function",
                   "function": {"name": block["name"], "arguments": jsonutil.dumps(block.get("input") or {}).decode()}}
                  for block in blocks if block.get("type") == "tool_use"]
    if tool_calls:
        message["tool_calls"] = tool_calls
    thinking = [block for block in blocks if block.get("type") in ("thinking", "redacted_thinking")]
    if thinking:
        message["reasoning_content"] = "".join(block.get("thinking", "") for block in thinking)
        message["thinking_blocks"] = thinking
    return message


def completion_body(data: Mapping[str, Any], *, model: str, created: int) -> tuple[dict[str, Any], Usage]:
    """The OpenAI `chat.completion` body and usage for an Anthropic `message`."""
    usage = usage_from_anthropic(data.get("usage"))
    body = {"id": data.get("id", ""), "object": "chat.completion", "created": created,
            "model": data.get("model") or model,
            "choices": [{"index": 0, "message": message_from_blocks(data.get("content") or []), "logprobs": None,
                         "finish_reason": STOP_REASONS.get(data.get("stop_reason") or "", "stop")}],
            "usage": usage_body(usage)}
    return body, usage


# --- errors --------------------------------------------------------------------------------------------

def error_code(*, status: int, kind: str, message: str) -> str | None:
    """Context-window and content-policy failures recognised from the message; else the type's code."""
    text = message.lower()
    if status in (400, 413) and any(marker in text for marker in CONTEXT_MARKERS):
        return "context_length_exceeded"
    if status == 400 and any(marker in text for marker in POLICY_MARKERS):
        return "content_policy_violation"
    return OPENAI_ERRORS.get(kind, ("api_error", None))[1]


def anthropic_error(*, status: int | None, headers: Mapping[str, str],
                    body: bytes | Mapping[str, Any]) -> UpstreamError:
    """The UpstreamError for an Anthropic error body; no status (mid-stream) takes the type's status."""
    data: Any = body
    if isinstance(body, bytes):
        try:
            data = jsonutil.loads(body) if body else {}
        except jsonutil.JSONDecodeError:
            data = {"error": {"message": body.decode("utf-8", "replace")[:500]}}
    error: dict[str, Any] = data["error"] if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
    kind = str(error.get("type") or STATUS_ERROR.get(status or 500, "api_error"))
    status = status or ERROR_STATUS.get(kind, 500)
    message = str(error.get("message") or f"Anthropic returned {status}")
    return UpstreamError(message, status=status, error_type=OPENAI_ERRORS.get(kind, ("api_error", None))[0],
                         code=error_code(status=status, kind=kind, message=message),
                         retry_after=retry_after_seconds(headers), provider="anthropic")


# --- the SSE stream ---------------------------------------------------------------------------------

def chunk(state: BasicStreamState, delta: dict[str, Any], *, finish_reason: str | None = None) -> ChatChunk:
    """One OpenAI `chat.completion.chunk` carrying `delta`."""
    return ChatChunk(body={"id": state.response_id, "object": "chat.completion.chunk", "created": state.created,
                           "model": state.model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                               "finish_reason": finish_reason}]})


def stream_event(data: Mapping[str, Any], state: BasicStreamState) -> list[ChatChunk]:
    """OpenAI chunks for one Anthropic SSE event (`ping` and unknown events give none)."""
    kind = data.get("type")
    if kind == "message_start":
        message = data.get("message") or {}
        state.response_id, state.model = message.get("id", ""), message.get("model", "")
        state.scratch["usage"] = dict(message.get("usage") or {})
        return [chunk(state, {"role": "assistant", "content": ""})]
    if kind == "content_block_start":
        return block_start(data.get("content_block") or {}, index=int(data.get("index", 0)), state=state)
    if kind == "content_block_delta":
        return block_delta(data.get("delta") or {}, index=int(data.get("index", 0)), state=state)
    if kind == "content_block_stop":
        return block_stop(int(data.get("index", 0)), state)
    if kind == "message_delta":
        # message_delta usage is cumulative; later Anthropic versions also repeat the input counts here.
        state.scratch.setdefault("usage", {}).update({k: v for k, v in (data.get("usage") or {}).items()
                                                       if v is not None})
        state.finish_reason = STOP_REASONS.get((data.get("delta") or {}).get("stop_reason") or "", "stop")
        return [chunk(state, {}, finish_reason=state.finish_reason)]
    if kind == "message_stop":
        state.usage = usage_from_anthropic(state.scratch.get("usage"))
        return [ChatChunk(body={"id": state.response_id, "object": "chat.completion.chunk", "created": state.created,
                                "model": state.model, "choices": [], "usage": usage_body(state.usage)},
                          usage=state.usage)]
    if kind == "error":
        raise anthropic_error(status=None, headers={}, body=data)
    return []


def block_start(block: Mapping[str, Any], *, index: int, state: BasicStreamState) -> list[ChatChunk]:
    """A new content block: tool calls announce id and name; server-side tool blocks are not surfaced."""
    blocks: dict[int, dict[str, Any]] = state.scratch.setdefault("blocks", {})
    kind = block.get("type")
    blocks[index] = {"type": kind, "thinking": "", "signature": ""}
    if kind == "text" and block.get("text"):
        return [chunk(state, {"content": block["text"]})]
    if kind == "tool_use":
        tool_index = blocks[index]["tool_index"] = len(state.tool_index)
        state.tool_index[block["id"]] = tool_index
        arguments = jsonutil.dumps(block["input"]).decode() if block.get("input") else ""
        return [chunk(state, {"tool_calls": [{"index": tool_index, "id": block["id"], "type": "function",
                                              "function": {"name": block["name"], "arguments": arguments}}]})]
    if kind == "redacted_thinking":
        return [chunk(state, {"thinking_blocks": [{"type": "redacted_thinking", "data": block.get("data", "")}]})]
    if kind == "thinking" and block.get("thinking"):
        blocks[index]["thinking"] = block["thinking"]
        return [chunk(state, {"reasoning_content": block["thinking"]})]
    return []


def block_delta(delta: Mapping[str, Any], *, index: int, state: BasicStreamState) -> list[ChatChunk]:
    """Text, tool-argument pieces (forwarded as they come, never `{}`), thinking and its signature."""
    block = state.scratch.setdefault("blocks", {}).setdefault(index, {"type": None, "thinking": "", "signature": ""})
    kind = delta.get("type")
    if kind == "text_delta" and delta.get("text"):
        return [chunk(state, {"content": delta["text"]})]
    if kind == "input_json_delta" and delta.get("partial_json") and "tool_index" in block:
        return [chunk(state, {"tool_calls": [{"index": block["tool_index"],
                                              "function": {"arguments": delta["partial_json"]}}]})]
    if kind == "thinking_delta" and delta.get("thinking"):
        block["thinking"] += delta["thinking"]
        return [chunk(state, {"reasoning_content": delta["thinking"]})]
    if kind == "signature_delta":
        block["signature"] += delta.get("signature", "")
    return []


def block_stop(index: int, state: BasicStreamState) -> list[ChatChunk]:
    """A finished thinking block is re-sent whole, with its signature, for the client's next turn."""
    block = state.scratch.get("blocks", {}).get(index) or {}
    if block.get("type") != "thinking":
        return []
    return [chunk(state, {"thinking_blocks": [{"type": "thinking", "thinking": block["thinking"],
                                               "signature": block["signature"]}]})]
