"""OpenAI chat requests -> Anthropic Messages API bodies (messages, tools, thinking, sampling)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, TypedDict, cast

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.base import ChatCall, Message, ParamNotSupported, Target

DEFAULT_MAX_TOKENS = 4096
# OpenAI `reasoning_effort` -> Anthropic thinking budget (LiteLLM's table; 1024 is Anthropic's minimum).
REASONING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096}
# OpenAI parameters with no Anthropic counterpart: they change the answer, so they are never dropped silently.
UNSUPPORTED = ("n", "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias", "seed",
               "response_format", "audio", "modalities", "prediction")
# Handled by name (or meaningless upstream); everything else passes through as Anthropic-native (top_k...).
HANDLED = frozenset({"max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "user", "metadata",
                     "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort", "thinking",
                     "stream_options", "store", *UNSUPPORTED})
DATA_URL = re.compile(r"^data:(?P<media>[\w/+.-]+)(?:;[\w=-]+)*;base64,(?P<data>.*)$", re.DOTALL)


class AnthropicTool(TypedDict, total=False):
    name: str
    description: str
    input_schema: dict[str, Any]
    cache_control: dict[str, Any]


class AnthropicMessage(TypedDict):
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]


class AnthropicBody(TypedDict, total=False):
    model: str
    messages: list[AnthropicMessage]
    system: str | list[dict[str, Any]]
    max_tokens: int
    stop_sequences: list[str]
    temperature: float
    top_p: float
    metadata: dict[str, str]
    tools: list[AnthropicTool | dict[str, Any]]
    tool_choice: dict[str, Any]
    thinking: dict[str, Any]
    stream: bool


# --- shared helpers (Claude on Bedrock takes the same thinking config and image data) -------------

def parse_data_url(url: str) -> tuple[str, str] | None:
    """`(media_type, base64 data)` for a `data:<type>;base64,<data>` URL, else None."""
    match = DATA_URL.match(url)
    return (match["media"], match["data"]) if match else None


def thinking_config(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """Anthropic's `thinking` object from an explicit `thinking` param or OpenAI `reasoning_effort`."""
    thinking = params.get("thinking")
    if isinstance(thinking, dict):
        return dict(thinking)
    effort = params.get("reasoning_effort")
    if effort is None or effort == "none":
        return None
    if effort not in REASONING_BUDGETS:
        raise InvalidRequest(f"reasoning_effort must be one of {', '.join(REASONING_BUDGETS)}",
                             param="reasoning_effort")
    return {"type": "enabled", "budget_tokens": REASONING_BUDGETS[effort]}


def max_tokens_for(call: ChatCall, thinking: Mapping[str, Any] | None) -> int:
    """The caller's limit, else a default that leaves room for the answer after a thinking budget."""
    if call.max_tokens is not None:
        return call.max_tokens
    budget = int(thinking.get("budget_tokens") or 0) if thinking else 0
    return DEFAULT_MAX_TOKENS if budget < DEFAULT_MAX_TOKENS else budget + DEFAULT_MAX_TOKENS


def reject_unsupported(params: Mapping[str, Any], *, provider: str, drop: bool) -> None:
    """Raise ParamNotSupported for OpenAI-only parameters that would change the answer."""
    for name in UNSUPPORTED:
        value = params.get(name)
        harmless = value in (None, False) or (name == "n" and value == 1) or (
            name == "response_format" and isinstance(value, dict) and value.get("type") == "text")
        if not harmless and not drop:
            raise ParamNotSupported(f"{provider} does not support the {name!r} parameter; remove it or set "
                                    "drop_params", param=name)


def stop_list(stop: Any) -> list[str]:
    """OpenAI `stop` (string or list) as a list."""
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else [str(item) for item in stop]


def tool_arguments(raw: str | None, name: str) -> Any:
    """A tool call's JSON arguments string as an object (empty means no arguments)."""
    if not raw:
        return {}
    try:
        return jsonutil.loads(raw)
    except jsonutil.JSONDecodeError:
        raise InvalidRequest(f"arguments of tool call {name!r} are not valid JSON", param="messages") from None


# --- OpenAI messages -> Anthropic ---------------------------------------------------------------------

def content_blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI content (string or parts) as Anthropic blocks; empty text is left out (Anthropic rejects it)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [block for part in content if (block := part_block(part)) is not None]


def part_block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    """One OpenAI content part as an Anthropic block; `cache_control` is carried over as is."""
    kind = part.get("type")
    if kind == "text":
        block: dict[str, Any] | None = {"type": "text", "text": part["text"]} if part.get("text") else None
    elif kind == "image_url":
        image = part["image_url"]
        url = image if isinstance(image, str) else image["url"]
        data = parse_data_url(url)
        source = ({"type": "base64", "media_type": data[0], "data": data[1]} if data
                  else {"type": "url", "url": url})
        block = {"type": "image", "source": source}
    elif kind == "file":
        data = parse_data_url(part["file"].get("file_data", ""))
        if data is None:
            raise InvalidRequest("file parts need base64 `file_data` (data: URL)", param="messages")
        block = {"type": "document", "source": {"type": "base64", "media_type": data[0], "data": data[1]}}
    else:
        block = dict(part)  # Anthropic-native blocks (document, search_result...) pass through
    if block is not None and "cache_control" in part:
        block["cache_control"] = part["cache_control"]
    return block


def thinking_blocks(message: Message) -> list[dict[str, Any]]:
    """LiteLLM's `thinking_blocks` on an assistant message (not part of OpenAI's message shape)."""
    blocks = cast(Mapping[str, Any], message).get("thinking_blocks")
    return list(blocks) if isinstance(blocks, list) else []


def assistant_blocks(message: Message) -> list[dict[str, Any]]:
    """Thinking blocks first (Anthropic requires them before tool use), then text, then tool_use."""
    blocks = [dict(block) for block in thinking_blocks(message)]
    blocks += content_blocks(message.get("content"))
    for call in message.get("tool_calls") or []:
        function = call["function"]
        blocks.append({"type": "tool_use", "id": call["id"], "name": function["name"],
                       "input": tool_arguments(function.get("arguments"), function["name"])})
    return blocks


def tool_result_block(message: Message) -> dict[str, Any]:
    """An OpenAI `role: tool` message as a `tool_result` block."""
    content = message.get("content")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message["tool_call_id"],
                             "content": content if isinstance(content, str) else content_blocks(content)}
    return block


def convert_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[AnthropicMessage]]:
    """System blocks lifted out, and the turns with consecutive same-role messages merged."""
    system: list[dict[str, Any]] = []
    turns: list[AnthropicMessage] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system += content_blocks(message.get("content"))
            continue
        if role == "assistant":
            blocks, turn_role = assistant_blocks(message), "assistant"
        elif role == "tool":
            blocks, turn_role = [tool_result_block(message)], "user"
        elif role == "user":
            blocks, turn_role = content_blocks(message.get("content")), "user"
        else:
            raise InvalidRequest(f"unsupported message role {role!r}", param="messages")
        if blocks and "cache_control" in message:
            blocks[-1]["cache_control"] = message["cache_control"]  # type: ignore[typeddict-item]
        if not blocks:
            continue
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})  # type: ignore[typeddict-item]
    return system, turns


def convert_tools(tools: list[dict[str, Any]]) -> list[AnthropicTool | dict[str, Any]]:
    """OpenAI function tools as Anthropic tools; Anthropic-native tools (web_search_...) pass through."""
    converted: list[AnthropicTool | dict[str, Any]] = []
    for tool in tools:
        if tool.get("type") != "function":
            converted.append(tool)
            continue
        function = tool["function"]
        spec: AnthropicTool = {"name": function["name"],
                               "input_schema": function.get("parameters") or {"type": "object", "properties": {}}}
        if function.get("description"):
            spec["description"] = function["description"]
        if "cache_control" in tool:
            spec["cache_control"] = tool["cache_control"]
        converted.append(spec)
    return converted


def convert_tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    """OpenAI tool_choice (auto/none/required/named) and parallel_tool_calls as Anthropic's tool_choice."""
    if choice is None and parallel is not False:
        return None
    if choice is None or choice == "auto":
        converted: dict[str, Any] = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        converted = {"type": "any"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        converted = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise InvalidRequest(f"unsupported tool_choice {choice!r}", param="tool_choice")
    if parallel is False:
        converted["disable_parallel_tool_use"] = True
    return converted


def user_id(params: Mapping[str, Any]) -> str | None:
    """Anthropic's only metadata field, from `metadata.user_id` or OpenAI's `user`."""
    metadata = params.get("metadata")
    if isinstance(metadata, dict) and metadata.get("user_id"):
        return str(metadata["user_id"])
    return str(params["user"]) if params.get("user") else None


def messages_body(call: ChatCall, target: Target) -> AnthropicBody:
    """The Messages API body for an OpenAI chat call."""
    params = call.params
    reject_unsupported(params, provider="Anthropic", drop=target.drop_params)
    system, turns = convert_messages(call.messages)
    thinking = thinking_config(params)
    body: AnthropicBody = {"model": target.model, "messages": turns,
                           "max_tokens": max_tokens_for(call, thinking)}
    if system:
        plain = len(system) == 1 and set(system[0]) == {"type", "text"}
        body["system"] = system[0]["text"] if plain else system
    add_sampling(body, params=params, thinking=thinking)
    if params.get("tools"):
        body["tools"] = convert_tools(params["tools"])
        choice = convert_tool_choice(params.get("tool_choice"), params.get("parallel_tool_calls"))
        if choice is not None:
            body["tool_choice"] = choice
    extra = {key: value for key, value in params.items() if key not in HANDLED}
    body.update(extra)  # type: ignore[typeddict-item]
    if call.stream:
        body["stream"] = True
    return body


def add_sampling(body: AnthropicBody, *, params: Mapping[str, Any], thinking: dict[str, Any] | None) -> None:
    """Stop sequences, temperature, top_p, metadata.user_id and thinking."""
    stops = stop_list(params.get("stop"))
    if stops:
        body["stop_sequences"] = stops
    for name in ("temperature", "top_p"):
        if params.get(name) is not None:
            body[name] = params[name]
    user = user_id(params)
    if user:
        body["metadata"] = {"user_id": user}
    if thinking is not None:
        body["thinking"] = thinking
