"""A chat answer -> a Response object: output items (reasoning, message, function calls), status and usage in the
Responses API's terms."""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from apps.providers.base import Usage

# Chat finish reasons that end a response early, as Responses' incomplete_details.reason.
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
ECHOED = ("instructions", "max_output_tokens", "metadata", "previous_response_id", "temperature", "top_p", "user",
          "tools", "tool_choice", "text", "reasoning", "parallel_tool_calls", "store", "truncation")
DEFAULTS: dict[str, Any] = {"instructions": None, "max_output_tokens": None, "metadata": {},
                            "previous_response_id": None, "temperature": 1.0, "top_p": 1.0, "user": None,
                            "tools": [], "tool_choice": "auto", "text": {"format": {"type": "text"}},
                            "reasoning": {"effort": None, "summary": None}, "parallel_tool_calls": True,
                            "store": True, "truncation": "disabled"}


def item_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def usage_object(usage: Usage) -> dict[str, Any]:
    """Responses' usage object for normalised counts."""
    return {"input_tokens": usage.prompt_tokens, "input_tokens_details": {"cached_tokens": usage.cached_tokens},
            "output_tokens": usage.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.total_tokens}


def usage_from_responses(raw: Any) -> Usage:
    """Normalise a Responses usage object (missing or empty gives zeros)."""
    if not isinstance(raw, Mapping):
        return Usage()
    inputs = raw.get("input_tokens_details") or {}
    outputs = raw.get("output_tokens_details") or {}
    return Usage(prompt_tokens=int(raw.get("input_tokens") or 0), completion_tokens=int(raw.get("output_tokens") or 0),
                 cached_tokens=int(inputs.get("cached_tokens") or 0),
                 reasoning_tokens=int(outputs.get("reasoning_tokens") or 0))


def message_item(text: str, *, status: str = "completed", item: str = "") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" \
        else []
    return {"type": "message", "id": item or item_id("msg"), "status": status, "role": "assistant",
            "content": content}


def reasoning_item(text: str, *, item: str = "") -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": text}] if text else []
    return {"type": "reasoning", "id": item or item_id("rs"), "summary": summary}


def function_call_item(call_id: str, name: str, arguments: str, *, status: str = "completed",
                       item: str = "") -> dict[str, Any]:
    return {"type": "function_call", "id": item or item_id("fc"), "call_id": call_id, "name": name,
            "arguments": arguments, "status": status}


def output_items(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A chat answer's message as output items: its reasoning, its text, then each tool call."""
    items = []
    if isinstance(message.get("reasoning_content"), str) and message["reasoning_content"]:
        items.append(reasoning_item(message["reasoning_content"]))
    if isinstance(message.get("content"), str) and message["content"]:
        items.append(message_item(message["content"]))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        items.append(function_call_item(str(call.get("id") or item_id("call")), str(function.get("name") or ""),
                                        str(function.get("arguments") or "")))
    return items


def response_object(body: Mapping[str, Any], *, response_id: str, model: str, output: list[dict[str, Any]],
                    status: str = "completed", finish_reason: str | None = None, usage: Usage | None = None,
                    previous_response_id: str | None = None, created_at: float | None = None) -> dict[str, Any]:
    """The Response object for a request `body`: what it asked for echoed, with the answer's output and usage."""
    reason = INCOMPLETE.get(finish_reason or "")
    if status == "completed" and reason:
        status = "incomplete"
    echoed = {name: body.get(name, DEFAULTS[name]) if body.get(name) is not None else DEFAULTS[name]
              for name in ECHOED}
    echoed["previous_response_id"] = previous_response_id
    return {"id": response_id, "object": "response", "created_at": int(created_at or time.time()), "status": status,
            "background": False, "error": None,
            "incomplete_details": {"reason": reason} if status == "incomplete" else None, "model": model,
            "output": output, **echoed, "usage": usage_object(usage) if usage is not None else None}


def chat_response(completion: Mapping[str, Any], usage: Usage, body: Mapping[str, Any], *, response_id: str,
                  model: str, previous_response_id: str | None) -> dict[str, Any]:
    """The Response object for a whole `chat.completion` (its first choice)."""
    choice = (completion.get("choices") or [{}])[0]
    return response_object(body, response_id=response_id, model=str(completion.get("model") or model),
                           output=output_items(choice.get("message") or {}), finish_reason=choice.get("finish_reason"),
                           usage=usage, previous_response_id=previous_response_id)
