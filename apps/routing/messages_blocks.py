"""The fields of /v1/messages content blocks, tools and options, checked as Anthropic's schema types them.

The translation to chat reads `text`, image and document `source`s, `tool_use` and `tool_result` fields and
`thinking.budget_tokens`; a wrong type there must be a 400 naming the field (Anthropic's `messages.0.content.1`
paths), not an error inside a provider. Block types this gateway does not read (server tool results, citations,
containers ...) pass as objects: an Anthropic deployment gets the body as sent.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.errors import InvalidRequest

SOURCE_TYPES = ("base64", "url", "text", "file", "content")
TOOL_CHOICES = ("auto", "any", "tool", "none")
RESULT_BLOCKS = ("text", "image", "document", "search_result")


def invalid(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="invalid_request_error")


def field(block: Mapping[str, Any], key: str, where: str, kind: type, *, required: bool = True) -> Any:
    """`block[key]`, which must have JSON type `kind` (and be present when required)."""
    value = block.get(key)
    if value is None and not required:
        return None
    if value is None:
        raise invalid(f"{where}.{key}: Field required", f"{where}.{key}")
    if type(value) is not kind:
        name = {str: "a valid string", dict: "a valid dictionary", list: "a valid list", int: "a valid integer",
                bool: "a valid boolean"}[kind]
        raise invalid(f"{where}.{key}: Input should be {name}", f"{where}.{key}")
    return value


def check_source(block: Mapping[str, Any], where: str) -> None:
    source = field(block, "source", where, dict)
    kind = source.get("type")
    if kind not in SOURCE_TYPES:
        raise invalid(f"{where}.source.type: Input should be one of {', '.join(SOURCE_TYPES)}", f"{where}.source.type")
    key = {"base64": "data", "url": "url", "text": "data", "file": "file_id"}.get(kind)
    if key is not None:
        field(source, key, f"{where}.source", str)
    if kind == "base64":
        field(source, "media_type", f"{where}.source", str, required=False)


def check_tool_result(block: Mapping[str, Any], where: str) -> None:
    field(block, "tool_use_id", where, str)
    content = block.get("content")
    if content is not None and type(content) is not str:
        if type(content) is not list:
            raise invalid(f"{where}.content: Input should be a valid string or a list of content blocks",
                          f"{where}.content")
        for position, inner in enumerate(content):
            check_block(inner, f"{where}.content.{position}")
    field(block, "is_error", where, bool, required=False)


def check_block(block: Any, where: str) -> None:
    """One content block: an object with a `type`, and the fields the gateway reads typed as Anthropic does."""
    if type(block) is not dict or type(block.get("type")) is not str:
        raise invalid(f"{where}: each content block must be an object with a `type`", where)
    kind = block["type"]
    if kind == "text":
        field(block, "text", where, str)
    elif kind in ("image", "document"):
        check_source(block, where)
    elif kind == "tool_use":
        field(block, "id", where, str)
        field(block, "name", where, str)
        field(block, "input", where, dict)
    elif kind == "tool_result":
        check_tool_result(block, where)
    elif kind == "thinking":
        field(block, "thinking", where, str)
    elif kind == "redacted_thinking":
        field(block, "data", where, str)


def check_tools(tools: list[Any]) -> None:
    for position, tool in enumerate(tools):
        where = f"tools.{position}"
        if type(tool) is not dict:
            raise invalid(f"{where}: Input should be a valid dictionary", where)
        field(tool, "name", where, str)
        field(tool, "description", where, str, required=False)
        field(tool, "input_schema", where, dict, required=False)


def check_tool_choice(choice: Mapping[str, Any]) -> None:
    kind = choice.get("type")
    if kind not in TOOL_CHOICES:
        raise invalid(f"tool_choice.type: Input should be one of {', '.join(TOOL_CHOICES)}", "tool_choice.type")
    if kind == "tool":
        field(choice, "name", "tool_choice", str)
    field(choice, "disable_parallel_tool_use", "tool_choice", bool, required=False)


def check_options(body: Mapping[str, Any]) -> None:
    """System blocks, tools, tool_choice, thinking, stop_sequences and metadata (top-level types checked)."""
    if type(body.get("system")) is list:
        for position, block in enumerate(body["system"]):
            if type(block) is not dict or block.get("type") != "text":
                raise invalid(f"system.{position}: system blocks must be text blocks", f"system.{position}")
            field(block, "text", f"system.{position}", str)
    check_tools(body.get("tools") or [])
    if body.get("tool_choice") is not None:
        check_tool_choice(body["tool_choice"])
    thinking = body.get("thinking")
    if thinking is not None:
        field(thinking, "type", "thinking", str)
        if thinking["type"] == "enabled":
            field(thinking, "budget_tokens", "thinking", int)
    if not all(type(stop) is str for stop in body.get("stop_sequences") or ()):
        raise invalid("stop_sequences: Input should be a list of strings", "stop_sequences")
    if body.get("metadata") is not None:
        field(body["metadata"], "user_id", "metadata", str, required=False)
