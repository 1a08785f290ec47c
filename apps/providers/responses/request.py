"""A (checked) Responses body -> the chat call it stands for: the conversation, tools, tool_choice, output format,
reasoning effort and sampling parameters."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apps.providers.base import ChatCall
from apps.providers.responses.items import translate

# Responses fields with no chat counterpart, or translated by name; any other field passes through as a chat
# parameter (provider extras such as `mock_response`, `top_k`).
RESPONSES_FIELDS = frozenset({
    "model", "input", "instructions", "max_output_tokens", "tools", "tool_choice", "text", "reasoning", "stream",
    "store", "previous_response_id", "include", "truncation", "background", "metadata", "prompt",
    "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "max_tool_calls", "conversation",
    "service_tier", "top_logprobs", "stream_options", "parallel_tool_calls", "temperature", "top_p", "user"})
SAMPLING = ("temperature", "top_p", "parallel_tool_calls")


@dataclass(frozen=True, slots=True)
class BridgedCall:
    """The chat call for a Responses body, and what in it chat cannot carry (empty when all of it can)."""

    call: ChatCall
    problems: tuple[str, ...]


def chat_tools(tools: Sequence[Mapping[str, Any]], problems: list[str]) -> list[dict[str, Any]]:
    """Function tools in chat's shape; the hosted tools (web search, file search, MCP ...) are reported."""
    converted = []
    for index, tool in enumerate(tools):
        if tool.get("type") != "function":
            problems.append(f"tools[{index}]: tool type '{tool.get('type')}'")
            continue
        function = {key: tool[key] for key in ("name", "description", "parameters", "strict")
                    if tool.get(key) is not None}
        converted.append({"type": "function", "function": function})
    return converted


def chat_tool_choice(choice: Any, problems: list[str]) -> Any:
    """`auto` / `none` / `required` as they are, a named function in chat's shape."""
    if isinstance(choice, str):
        return choice
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    problems.append(f"tool_choice: type '{choice.get('type') if isinstance(choice, Mapping) else choice}'")
    return None


def response_format(text: Any) -> dict[str, Any] | None:
    """`text.format` as chat's `response_format` (None for plain text)."""
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if not isinstance(fmt, Mapping) or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_schema":
        schema = {key: fmt[key] for key in ("name", "schema", "strict", "description") if key in fmt}
        return {"type": "json_schema", "json_schema": schema}
    return {"type": str(fmt.get("type"))}


def chat_params(body: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {name: body[name] for name in SAMPLING if body.get(name) is not None}
    if body.get("max_output_tokens") is not None:
        params["max_tokens"] = body["max_output_tokens"]
    user = body.get("user") or body.get("safety_identifier")
    if user:
        params["user"] = user
    if body.get("tools"):
        params["tools"] = chat_tools(body["tools"], problems)
    if body.get("tool_choice") is not None and body.get("tools"):
        choice = chat_tool_choice(body["tool_choice"], problems)
        if choice is not None:
            params["tool_choice"] = choice
    if (fmt := response_format(body.get("text"))) is not None:
        params["response_format"] = fmt
    reasoning = body.get("reasoning")
    if isinstance(reasoning, Mapping) and reasoning.get("effort"):
        params["reasoning_effort"] = reasoning["effort"]
    params.update({key: value for key, value in body.items() if key not in RESPONSES_FIELDS})
    return params


def bridged_call(body: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> BridgedCall:
    """The chat call for `body` whose conversation is `items` (earlier turns included)."""
    translation = translate(items, instructions=body.get("instructions"))
    problems = translation.problems
    params = chat_params(body, problems)
    call = ChatCall(model=str(body["model"]), messages=translation.messages, stream=bool(body.get("stream")),
                    params=params)
    return BridgedCall(call=call, problems=tuple(problems))
