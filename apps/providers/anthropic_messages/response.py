"""An OpenAI chat answer -> a Messages API `message`: content blocks, stop_reason and usage in Anthropic's terms."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core import jsonutil
from apps.providers.base import Usage

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}


def stop_reason(finish_reason: str | None) -> str:
    """OpenAI's finish_reason as Anthropic's stop_reason."""
    return STOP_REASONS.get(finish_reason or "", "end_turn")


def usage_body(usage: Usage) -> dict[str, int]:
    """Anthropic's usage: `input_tokens` excludes cache reads and writes, which get fields of their own."""
    body = {"input_tokens": max(0, usage.prompt_tokens - usage.cached_tokens - usage.cache_creation_tokens),
            "output_tokens": usage.completion_tokens}
    if usage.cache_creation_tokens:
        body["cache_creation_input_tokens"] = usage.cache_creation_tokens
    if usage.cached_tokens:
        body["cache_read_input_tokens"] = usage.cached_tokens
    return body


def tool_input(arguments: Any) -> Any:
    """A tool call's JSON arguments as the tool_use `input` object; text that is not JSON is kept under `raw`."""
    if not arguments:
        return {}
    try:
        return jsonutil.loads(arguments)
    except jsonutil.JSONDecodeError:
        return {"raw": arguments}


def thinking_content(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Thinking blocks (signatures kept) or, from providers that only give text, one unsigned thinking block."""
    blocks = message.get("thinking_blocks")
    if isinstance(blocks, list) and blocks:
        return [({"type": "redacted_thinking", "data": block.get("data", "")} if block.get("type") == "redacted_thinking"
                 else {"type": "thinking", "thinking": block.get("thinking", ""), "signature": block.get("signature", "")})
                for block in blocks if isinstance(block, Mapping)]
    reasoning = message.get("reasoning_content")
    return [{"type": "thinking", "thinking": reasoning, "signature": ""}] if reasoning else []


def content_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Thinking first, then the text, then each tool call as a tool_use block."""
    blocks = thinking_content(message)
    content = message.get("content")
    if isinstance(content, str) and content:
        blocks.append({"type": "text", "text": content})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        blocks.append({"type": "tool_use", "id": call.get("id") or "", "name": function.get("name") or "",
                       "input": tool_input(function.get("arguments"))})
    return blocks


def message_body(completion: Mapping[str, Any], usage: Usage, *, model: str) -> dict[str, Any]:
    """The Messages API answer for a `chat.completion` body (its first choice)."""
    choices = completion.get("choices") or [{}]
    choice = choices[0]
    return {"id": completion.get("id") or "", "type": "message", "role": "assistant",
            "model": completion.get("model") or model, "content": content_blocks(choice.get("message") or {}),
            "stop_reason": stop_reason(choice.get("finish_reason")), "stop_sequence": None,
            "usage": usage_body(usage)}
