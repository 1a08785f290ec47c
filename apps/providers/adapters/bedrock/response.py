"""Bedrock answers -> OpenAI shapes: Converse output, usage, errors, ConverseStream events, embeddings.

Usage follows the Anthropic adapter: `prompt_tokens = inputTokens + cacheReadInputTokens +
cacheWriteInputTokens` (Bedrock's `inputTokens` excludes cached tokens; its `totalTokens` includes them).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core import jsonutil
from apps.providers.adapters.anthropic.response import CONTEXT_MARKERS
from apps.providers.adapters.openai import retry_after_seconds
from apps.providers.base import BasicStreamState, ChatChunk, Frame, UpstreamError, Usage, usage_body

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                "model_context_window_exceeded": "length", "tool_use": "tool_calls",
                "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
                "malformed_model_output": "stop", "malformed_tool_use": "stop"}
AUTH = ("authentication_error", "invalid_api_key")
# Exception name -> (status when none is given, OpenAI error type, code).
EXCEPTIONS: dict[str, tuple[int, str, str | None]] = {
    "ThrottlingException": (429, "rate_limit_error", "rate_limit_exceeded"),
    "ModelNotReadyException": (429, "rate_limit_error", "model_not_ready"),
    "ServiceQuotaExceededException": (400, "rate_limit_error", "quota_exceeded"),
    "AccessDeniedException": (403, "permission_error", "permission_denied"),
    "UnrecognizedClientException": (403, *AUTH), "InvalidSignatureException": (403, *AUTH),
    "IncompleteSignatureException": (403, *AUTH), "ExpiredTokenException": (403, *AUTH),
    "MissingAuthenticationTokenException": (403, *AUTH), "InvalidClientTokenId": (403, *AUTH),
    "ValidationException": (400, "invalid_request_error", None),
    "ResourceNotFoundException": (404, "invalid_request_error", "not_found"),
    "ModelTimeoutException": (408, "timeout", "timeout"),
    "ModelErrorException": (424, "api_error", "model_error"),
    "ModelStreamErrorException": (424, "api_error", "model_error"),
    "InternalServerException": (500, "api_error", None),
    "ServiceUnavailableException": (503, "api_error", "service_unavailable"),
}
STATUS_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error",
                408: "timeout", 429: "rate_limit_error"}
CONTEXT_TEXT = (*CONTEXT_MARKERS, "too many input tokens", "maximum context length", "exceeds the context")


# --- usage and complete answers ---------------------------------------------------------------------

def usage_from_bedrock(raw: Mapping[str, Any] | None) -> Usage:
    """Normalise Converse `usage`; prompt tokens include cache reads and writes."""
    raw = raw or {}
    cached = int(raw.get("cacheReadInputTokens") or 0)
    written = int(raw.get("cacheWriteInputTokens") or 0)
    return Usage(prompt_tokens=int(raw.get("inputTokens") or 0) + cached + written,
                 completion_tokens=int(raw.get("outputTokens") or 0), cached_tokens=cached,
                 cache_creation_tokens=written)


def message_from_blocks(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """An OpenAI assistant message from Converse content blocks (reasoning kept with signatures)."""
    texts = [block["text"] for block in blocks if "text" in block]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    tool_calls = [{"id": use["toolUseId"], "type": "function",
                   "function": {"name": use["name"], "arguments": jsonutil.dumps(use.get("input") or {}).decode()}}
                  for block in blocks if (use := block.get("toolUse"))]
    if tool_calls:
        message["tool_calls"] = tool_calls
    thinking = [thinking_block(block["reasoningContent"]) for block in blocks if "reasoningContent" in block]
    if thinking:
        message["reasoning_content"] = "".join(block.get("thinking", "") for block in thinking)
        message["thinking_blocks"] = thinking
    return message


def thinking_block(reasoning: Mapping[str, Any]) -> dict[str, Any]:
    """A Converse reasoningContent block in LiteLLM's `thinking_blocks` shape (Anthropic's)."""
    if "redactedContent" in reasoning:
        return {"type": "redacted_thinking", "data": reasoning["redactedContent"]}
    text = reasoning.get("reasoningText") or {}
    return {"type": "thinking", "thinking": text.get("text", ""), "signature": text.get("signature", "")}


def completion_body(data: Mapping[str, Any], *, model: str, response_id: str,
                    created: int) -> tuple[dict[str, Any], Usage]:
    """The OpenAI `chat.completion` body and usage for a Converse response."""
    usage = usage_from_bedrock(data.get("usage"))
    message = ((data.get("output") or {}).get("message") or {}).get("content") or []
    body = {"id": response_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message_from_blocks(message), "logprobs": None,
                         "finish_reason": STOP_REASONS.get(data.get("stopReason") or "", "stop")}],
            "usage": usage_body(usage)}
    return body, usage


def embedding_body(data: Mapping[str, Any], *, model: str) -> tuple[dict[str, Any], Usage]:
    """OpenAI `list` of embeddings from a Titan (`embedding`) or Cohere (`embeddings`) answer."""
    if "embedding" in data:
        vectors = [data["embedding"]]
    else:
        embeddings = data.get("embeddings") or []
        vectors = embeddings.get("float", []) if isinstance(embeddings, dict) else embeddings
    tokens = int(data.get("inputTextTokenCount") or 0)
    usage = Usage(prompt_tokens=tokens)
    body = {"object": "list", "model": model,
            "data": [{"object": "embedding", "index": index, "embedding": vector}
                     for index, vector in enumerate(vectors)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    return body, usage


# --- errors -----------------------------------------------------------------------------------------

def exception_name(headers: Mapping[str, str], data: Mapping[str, Any]) -> str:
    """`ValidationException` from `x-amzn-ErrorType`, a body `__type`, or a stream's `validationException`."""
    raw = headers.get("x-amzn-errortype") or headers.get("x-amzn-ErrorType") or str(data.get("__type") or "")
    name = raw.split(":", 1)[0].rsplit("#", 1)[-1]
    return name[:1].upper() + name[1:]


def bedrock_error(*, status: int | None, headers: Mapping[str, str], body: bytes | Mapping[str, Any],
                  exception: str = "") -> UpstreamError:
    """The UpstreamError for a Bedrock error body (`{"message": ...}`) or a stream exception event."""
    data: Any = body
    if isinstance(body, bytes):
        try:
            data = jsonutil.loads(body) if body else {}
        except jsonutil.JSONDecodeError:
            data = {"message": body.decode("utf-8", "replace")[:500]}
    data = data if isinstance(data, dict) else {}
    name = exception[:1].upper() + exception[1:] if exception else exception_name(headers, data)
    if name in EXCEPTIONS:
        default_status, error_type, code = EXCEPTIONS[name]
        status = status or default_status
    else:
        status, code = status or 500, None
        error_type = "api_error" if status >= 500 else STATUS_TYPES.get(status, "invalid_request_error")
    message = str(data.get("message") or data.get("Message") or f"Bedrock returned {status} {name}".strip())
    if status in (400, 413) and any(marker in message.lower() for marker in CONTEXT_TEXT):
        code = "context_length_exceeded"
    return UpstreamError(message, status=status, error_type=error_type, code=code,
                         retry_after=retry_after_seconds(headers), provider="bedrock")


# --- ConverseStream -------------------------------------------------------------------------------

def chunk(state: BasicStreamState, delta: dict[str, Any], *, finish_reason: str | None = None) -> ChatChunk:
    """One OpenAI `chat.completion.chunk` carrying `delta`."""
    return ChatChunk(body={"id": state.response_id, "object": "chat.completion.chunk", "created": state.created,
                           "model": state.model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                               "finish_reason": finish_reason}]})


def stream_frame(frame: Frame, state: BasicStreamState) -> list[ChatChunk]:
    """OpenAI chunks for one event-stream message; exception and error messages raise."""
    message_type = frame.headers.get(":message-type", "event")
    if message_type == "exception":
        raise bedrock_error(status=None, headers={}, body=frame.data, exception=frame.event or "")
    if message_type == "error":
        raise bedrock_error(status=None, headers={}, body={"message": frame.headers.get(":error-message", "")},
                            exception=frame.headers.get(":error-code", ""))
    data = jsonutil.loads(frame.data) if frame.data else {}
    event = frame.event
    if event == "messageStart":
        return [chunk(state, {"role": "assistant", "content": ""})]
    if event == "contentBlockStart":
        return block_start(data, state)
    if event == "contentBlockDelta":
        return block_delta(data, state)
    if event == "contentBlockStop":
        return block_stop(data, state)
    if event == "messageStop":
        state.finish_reason = STOP_REASONS.get(data.get("stopReason") or "", "stop")
        return [chunk(state, {}, finish_reason=state.finish_reason)]
    if event == "metadata":
        state.usage = usage_from_bedrock(data.get("usage"))
        return [ChatChunk(body={"id": state.response_id, "object": "chat.completion.chunk", "created": state.created,
                                "model": state.model, "choices": [], "usage": usage_body(state.usage)},
                          usage=state.usage)]
    return []


def block_start(data: Mapping[str, Any], state: BasicStreamState) -> list[ChatChunk]:
    """A toolUse block announces the call's id and name (text blocks start with their first delta)."""
    use = (data.get("start") or {}).get("toolUse")
    if not use:
        return []
    tool_index = len(state.tool_index)
    state.tool_index[use["toolUseId"]] = tool_index
    state.scratch.setdefault("tools", {})[data.get("contentBlockIndex", 0)] = tool_index
    return [chunk(state, {"tool_calls": [{"index": tool_index, "id": use["toolUseId"], "type": "function",
                                          "function": {"name": use["name"], "arguments": ""}}]})]


def block_delta(data: Mapping[str, Any], state: BasicStreamState) -> list[ChatChunk]:
    """Text, tool-argument pieces (forwarded as they come, never `{}`), reasoning text and signature."""
    delta, index = data.get("delta") or {}, data.get("contentBlockIndex", 0)
    if delta.get("text"):
        return [chunk(state, {"content": delta["text"]})]
    if "toolUse" in delta:
        piece = delta["toolUse"].get("input") or ""
        tool_index = state.scratch.get("tools", {}).get(index)
        if not piece or tool_index is None:
            return []
        return [chunk(state, {"tool_calls": [{"index": tool_index, "function": {"arguments": piece}}]})]
    reasoning = delta.get("reasoningContent")
    if not reasoning:
        return []
    block = state.scratch.setdefault("reasoning", {}).setdefault(index, {"thinking": "", "signature": ""})
    if "redactedContent" in reasoning:
        redacted = {"type": "redacted_thinking", "data": reasoning["redactedContent"]}
        return [chunk(state, {"thinking_blocks": [redacted]})]
    block["signature"] += reasoning.get("signature", "")
    if reasoning.get("text"):
        block["thinking"] += reasoning["text"]
        return [chunk(state, {"reasoning_content": reasoning["text"]})]
    return []


def block_stop(data: Mapping[str, Any], state: BasicStreamState) -> list[ChatChunk]:
    """A finished reasoning block is re-sent whole, with its signature, for the client's next turn."""
    block = state.scratch.get("reasoning", {}).pop(data.get("contentBlockIndex", 0), None)
    if not block or not block["thinking"]:
        return []
    return [chunk(state, {"thinking_blocks": [{"type": "thinking", "thinking": block["thinking"],
                                               "signature": block["signature"]}]})]
