"""A Messages API body (validated) -> an OpenAI chat call: system, turns, tool blocks, images, thinking, tools.

Left out on the way: `cache_control` marks and the thinking blocks of earlier turns. Both only mean
something to Anthropic (whose deployments get the body untouched) and OpenAI-compatible servers reject them.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core import jsonutil
from apps.providers.base import ChatCall, Message

# Translated by name; every other field passes through as a chat parameter (top_k, service_tier ...).
TRANSLATED = frozenset({"model", "messages", "system", "max_tokens", "stop_sequences", "metadata", "tools",
                        "tool_choice", "thinking", "output_format", "stream"})


def image_url(source: Mapping[str, Any]) -> str | None:
    """An Anthropic image/document source as an OpenAI URL (a data: URL for base64)."""
    if source.get("type") == "base64" and source.get("data"):
        return f"data:{source.get('media_type') or 'image/jpeg'};base64,{source['data']}"
    if source.get("type") == "url":
        return str(source.get("url") or "") or None
    return None


def content_part(block: Mapping[str, Any]) -> dict[str, Any] | None:
    """One user content block as an OpenAI content part (text, image_url, or file for documents)."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind in ("image", "document"):
        url = image_url(block.get("source") or {})
        if url is None:
            return None
        if kind == "document" and url.startswith("data:"):
            return {"type": "file", "file": {"file_data": url}}
        return {"type": "image_url", "image_url": {"url": url}}
    return None


def tool_result_content(content: Any) -> Any:
    """A tool_result's content: a string, the text of its text blocks, or OpenAI parts when images are in it."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = [part for block in content if isinstance(block, Mapping) and (part := content_part(block))]
    if all(part["type"] == "text" for part in parts):
        return "".join(part["text"] for part in parts)
    return parts


def user_messages(content: Any) -> list[Message]:
    """A user turn: its tool results as `tool` messages (first, as chat needs them after the calls), then the rest."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools: list[Message] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        if block.get("type") == "tool_result":
            tools.append({"role": "tool", "tool_call_id": str(block.get("tool_use_id") or ""),
                          "content": tool_result_content(block.get("content"))})
        elif (part := content_part(block)) is not None:
            parts.append(part)
    return tools + ([{"role": "user", "content": parts}] if parts else [])


def assistant_message(content: Any) -> Message | None:
    """An assistant turn: its text joined, tool_use blocks as tool calls (thinking blocks left out)."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts = [str(block.get("text", "")) for block in content if block.get("type") == "text"]
    calls = [{"id": str(block.get("id") or ""), "type": "function",
              "function": {"name": str(block.get("name") or ""),
                           "arguments": jsonutil.dumps(block.get("input") or {}).decode()}}
             for block in content if block.get("type") == "tool_use"]
    if not texts and not calls:
        return None
    message: Message = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls  # type: ignore[typeddict-item]
    return message


def system_message(system: Any) -> Message | None:
    """`system` (a string or text blocks) as the first chat message."""
    if isinstance(system, str):
        return {"role": "system", "content": system} if system else None
    parts = [{"type": "text", "text": block.get("text", "")} for block in system or ()
             if isinstance(block, Mapping) and block.get("type") == "text"]
    return {"role": "system", "content": parts} if parts else None


def chat_messages(body: Mapping[str, Any]) -> list[Message]:
    """The whole conversation in chat form."""
    messages: list[Message] = []
    system = system_message(body.get("system"))
    if system is not None:
        messages.append(system)
    for turn in body["messages"]:
        if turn["role"] == "user":
            messages.extend(user_messages(turn["content"]))
        elif (message := assistant_message(turn["content"])) is not None:
            messages.append(message)
    return messages


def chat_tools(tools: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Client tools as functions; Anthropic's server tools (no input_schema) are passed on as they are."""
    converted: list[dict[str, Any]] = []
    for tool in tools:
        if "input_schema" not in tool and tool.get("type") not in (None, "custom"):
            converted.append(dict(tool))
            continue
        function: dict[str, Any] = {"name": tool["name"],
                                    "parameters": tool.get("input_schema") or {"type": "object", "properties": {}}}
        if tool.get("description"):
            function["description"] = tool["description"]
        converted.append({"type": "function", "function": function})
    return converted


def chat_tool_choice(choice: Mapping[str, Any]) -> tuple[Any, bool]:
    """Anthropic's tool_choice as OpenAI's, and whether parallel tool use was turned off."""
    kind = choice.get("type")
    converted: Any = {"auto": "auto", "any": "required", "none": "none"}.get(str(kind))
    if kind == "tool":
        converted = {"type": "function", "function": {"name": choice.get("name", "")}}
    return converted, bool(choice.get("disable_parallel_tool_use"))


def reasoning_effort(thinking: Mapping[str, Any]) -> str | None:
    """Anthropic's thinking budget as OpenAI's reasoning_effort (LiteLLM's thresholds)."""
    if thinking.get("type") != "enabled":
        return None
    budget = int(thinking.get("budget_tokens") or 0)
    return "high" if budget >= 10000 else "medium" if budget >= 5000 else "low" if budget >= 2000 else "minimal"


def chat_params(body: Mapping[str, Any]) -> dict[str, Any]:
    """The chat parameters: max_tokens, stop, user, tools, tool_choice, reasoning, response_format, the rest."""
    params: dict[str, Any] = {"max_tokens": body["max_tokens"]}
    if body.get("stop_sequences"):
        params["stop"] = list(body["stop_sequences"])
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("user_id"):
        params["user"] = str(metadata["user_id"])
    if body.get("tools"):
        params["tools"] = chat_tools(body["tools"])
    if isinstance(body.get("tool_choice"), Mapping):
        choice, serial = chat_tool_choice(body["tool_choice"])
        if choice is not None:
            params["tool_choice"] = choice
        if serial:
            params["parallel_tool_calls"] = False
    if isinstance(body.get("thinking"), Mapping) and (effort := reasoning_effort(body["thinking"])):
        params["reasoning_effort"] = effort
    output = body.get("output_format")
    if isinstance(output, Mapping) and output.get("type") == "json_schema" and output.get("schema"):
        params["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "structured_output", "schema": output["schema"], "strict": True}}
    params.update({key: value for key, value in body.items() if key not in TRANSLATED})
    return params


def chat_call(body: Mapping[str, Any]) -> ChatCall:
    """The chat call a (validated) Messages body asks for."""
    return ChatCall(model=body["model"], messages=chat_messages(body), stream=bool(body.get("stream")),
                    params=chat_params(body))
