"""Responses input items: checked as OpenAI checks them, and turned into chat messages.

Every item type of the Responses API is accepted (a deployment with the Responses API gets them as sent); over
chat, `message` (text, images, files, audio), `function_call` and `function_call_output` are translated and
`reasoning` items are left out (they only mean something to the model that wrote them). What chat cannot say
(another provider's tool calls, file ids) is reported, so the call fails with a 400 naming it instead of being
sent without it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core.errors import InvalidRequest
from apps.core.shapes import required_object, string
from apps.providers.base import Message

ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning", "item_reference", "file_search_call",
              "computer_call", "computer_call_output", "web_search_call", "image_generation_call",
              "code_interpreter_call", "local_shell_call", "local_shell_call_output", "shell_call",
              "shell_call_output", "apply_patch_call", "apply_patch_call_output", "mcp_list_tools",
              "mcp_approval_request", "mcp_approval_response", "mcp_call", "custom_tool_call",
              "custom_tool_call_output", "compaction")
PART_TYPES = ("input_text", "input_image", "input_file", "input_audio", "output_text", "refusal")
ROLES = ("user", "assistant", "system", "developer")
# The string fields of each part type (those OpenAI requires marked in PART_REQUIRED).
PART_STRINGS = {"input_text": ("text",), "output_text": ("text",), "refusal": ("refusal",),
                "input_image": ("image_url", "file_id", "detail"),
                "input_file": ("file_data", "file_id", "file_url", "filename"), "input_audio": ()}
PART_REQUIRED = frozenset({"text", "refusal"})
TEXT_PARTS = frozenset({"input_text", "output_text", "refusal"})
# The items a conversation carries on to a deployment other than the one that made it.
PORTABLE = frozenset({"message", "function_call", "function_call_output"})


def invalid(message: str, param: str, code: str = "invalid_value") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def supported(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def check_parts(content: Any, where: str) -> None:
    """A message's content: a string, or a list of parts that each name a known type."""
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid(f"Invalid type for '{where}': expected a string or an array of content parts.", where,
                      "invalid_type")
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in PART_TYPES:
            raise invalid(f"Invalid value: {kind!r}. Supported values are: {supported(PART_TYPES)}.",
                          f"{where}[{index}].type")
        check_part_fields(part, kind, f"{where}[{index}]")


def check_part_fields(part: Mapping[str, Any], kind: str, where: str) -> None:
    """The fields chat translation reads from a part, typed as OpenAI types them."""
    for key in PART_STRINGS[kind]:
        string(part, key, where, required=key in PART_REQUIRED)
    if kind == "input_audio":
        audio = required_object(part, "input_audio", where)
        string(audio, "data", f"{where}.input_audio", required=True)
        string(audio, "format", f"{where}.input_audio", required=True)


def check_item(item: Any, where: str) -> dict[str, Any]:
    """One input item as a dict with its `type` (a role-only item is a message, as OpenAI reads it)."""
    if not isinstance(item, dict):
        raise invalid(f"Invalid type for '{where}': expected an object.", where, "invalid_type")
    kind = item.get("type", "message" if "role" in item else None)
    if kind not in ITEM_TYPES:
        raise invalid(f"Invalid value: {kind!r}. Supported values are: {supported(ITEM_TYPES)}.", f"{where}.type")
    if kind == "message":
        if item.get("role") not in ROLES:
            raise invalid(f"Invalid value: {item.get('role')!r}. Supported values are: {supported(ROLES)}.",
                          f"{where}.role")
        if "content" not in item:
            raise invalid(f"Missing required parameter: '{where}.content'.", f"{where}.content",
                          "missing_required_parameter")
        check_parts(item["content"], f"{where}.content")
    if kind in ("function_call", "function_call_output") and not isinstance(item.get("call_id"), str):
        raise invalid(f"Missing required parameter: '{where}.call_id'.", f"{where}.call_id",
                      "missing_required_parameter")
    if kind == "function_call":
        string(item, "name", where, required=True)
        string(item, "arguments", where, required=True)
    elif kind == "function_call_output" and type(item.get("output")) is not str:
        check_parts(item.get("output"), f"{where}.output")
    return item if "type" in item else {"type": "message", **item}


def input_items(value: Any) -> list[dict[str, Any]]:
    """The body's `input` as a list of checked items (a string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise invalid("Invalid type for 'input': expected a string or an array of input items.", "input",
                      "invalid_type" if value is not None else "missing_required_parameter")
    return [check_item(item, f"input[{index}]") for index, item in enumerate(value)]


def portable(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A stored conversation as input for another deployment: the items chat can carry, without the ids and
    statuses the first provider gave them."""
    return [{key: value for key, value in item.items() if key not in ("id", "status")}
            for item in items if item.get("type") in PORTABLE]


@dataclass(slots=True)
class Translation:
    """Chat messages built from items, and what could not be said over chat (each naming its item)."""

    messages: list[Message] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def chat_part(part: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, Any] | None:
    """One content part as an OpenAI chat content part."""
    kind = part.get("type")
    if kind in TEXT_PARTS:
        return {"type": "text", "text": str(part.get("text") or part.get("refusal") or "")}
    if kind == "input_image" and part.get("image_url"):
        image: dict[str, Any] = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file" and part.get("file_data"):
        file = {key: part[key] for key in ("file_data", "filename") if part.get(key)}
        return {"type": "file", "file": file}
    if kind == "input_audio" and isinstance(part.get("input_audio"), dict):
        return {"type": "input_audio", "input_audio": part["input_audio"]}
    problems.append(f"{where}: an '{kind}' part given by file id")
    return None


def chat_content(content: Any, where: str, problems: list[str]) -> Any:
    """A message's content for chat: the string, the text of text-only parts, or chat parts."""
    if isinstance(content, str):
        return content
    parts = [converted for index, part in enumerate(content)
             if (converted := chat_part(part, f"{where}[{index}]", problems)) is not None]
    if all(part["type"] == "text" for part in parts):
        return "".join(part["text"] for part in parts)
    return parts


def tool_call(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": item["call_id"], "type": "function",
            "function": {"name": str(item.get("name") or ""), "arguments": str(item.get("arguments") or "")}}


def add_tool_call(messages: list[Message], item: Mapping[str, Any]) -> None:
    """A function_call joins the assistant turn before it, or starts one (chat puts a turn's calls together)."""
    last = messages[-1] if messages else None
    if last is not None and last.get("role") == "assistant":
        last.setdefault("tool_calls", []).append(tool_call(item))  # type: ignore[arg-type]
        return
    messages.append({"role": "assistant", "content": None, "tool_calls": [tool_call(item)]})  # type: ignore[list-item]


def translate(items: Sequence[Mapping[str, Any]], *, instructions: str | None = None) -> Translation:
    """The conversation as chat messages, `instructions` first as the system message."""
    done = Translation()
    if instructions:
        done.messages.append({"role": "system", "content": instructions})
    for index, item in enumerate(items):
        where, kind = f"input[{index}]", item.get("type")
        if kind == "message":
            content = chat_content(item["content"], f"{where}.content", done.problems)
            role = "system" if item["role"] == "developer" else item["role"]
            done.messages.append({"role": role, "content": content})
        elif kind == "function_call":
            add_tool_call(done.messages, item)
        elif kind == "function_call_output":
            output = item.get("output")
            content = chat_content(output, f"{where}.output", done.problems) if isinstance(output, list) else output
            done.messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": content or ""})
        elif kind != "reasoning":
            done.problems.append(f"{where}: item type '{kind}'")
    return done
