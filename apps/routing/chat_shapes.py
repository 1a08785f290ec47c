"""The nested shapes of a chat completion body, checked once so no adapter meets a value of the wrong type.

OpenAI's published schema (openai/openai-openapi: ChatCompletionRequestMessage, its content parts, tool calls,
ChatCompletionTool, ChatCompletionToolChoiceOption, ResponseFormat*): every shape OpenAI accepts passes, plus
LiteLLM's extensions the adapters read (an `image_url` given as a string, `document` / `video_url` /
`search_result` parts passed through to providers that take them, `thinking_blocks`, `cache_control`). Errors
name the path as OpenAI does (`messages[2].content[0].image_url.url`).

Hand-written tight loops, not a schema library: a message with string content costs two type checks.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.shapes import an_object, bad_value, missing, required_object, string, wrong_type

# Part types OpenAI takes, and LiteLLM's extra ones that adapters pass through or refuse by name.
PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")
PASSED_PART_TYPES = frozenset({"document", "video_url", "search_result", "input_text"})
NAMED_ROLES = ("tool", "function")  # they need a field besides role and content
TOOL_CHOICES = ("none", "auto", "required")
FORMAT_TYPES = ("text", "json_object", "json_schema")
# The body fields `check_chat_shapes` looks into (a body with none of them needs no look).
SHAPED_FIELDS = frozenset({"tools", "tool_choice", "response_format", "functions", "function_call", "stop"})


def check_image(part: Mapping[str, Any], where: str) -> None:
    image = part.get("image_url")
    if type(image) is str:  # LiteLLM's short form
        return
    if type(image) is not dict:
        raise missing(f"{where}.image_url") if image is None else wrong_type(f"{where}.image_url", image,
                                                                             "an object")
    string(image, "url", f"{where}.image_url", required=True)
    string(image, "detail", f"{where}.image_url")
    string(image, "format", f"{where}.image_url")


def check_part(part: Any, where: str) -> None:
    """One content part: an object whose `type` is known and whose fields have OpenAI's types."""
    if type(part) is not dict:
        raise wrong_type(where, part, "an object")
    kind = part.get("type")
    if kind == "text":
        string(part, "text", where, required=True)
    elif kind == "image_url":
        check_image(part, where)
    elif kind == "input_audio":
        audio = required_object(part, "input_audio", where)
        string(audio, "data", f"{where}.input_audio", required=True)
        string(audio, "format", f"{where}.input_audio", required=True)
    elif kind == "file":
        file = required_object(part, "file", where)
        for key in ("file_data", "file_id", "filename", "format"):
            string(file, key, f"{where}.file")
    elif kind == "refusal":
        string(part, "refusal", where, required=True)
    elif type(kind) is not str:
        raise missing(f"{where}.type") if kind is None else wrong_type(f"{where}.type", kind, "a string")
    elif kind not in PASSED_PART_TYPES:
        raise bad_value(f"{where}.type", kind, PART_TYPES)


def check_content(content: Any, where: str) -> None:
    """A message's content: null, a string, or an array of content parts."""
    if content is None or type(content) is str:
        return
    if type(content) is not list:
        raise wrong_type(where, content, "a string or an array of content parts")
    for index, part in enumerate(content):
        check_part(part, f"{where}[{index}]")


def check_tool_call(call: Any, where: str) -> None:
    """An assistant's earlier tool call: `id`, and a `function` (name, arguments) or a `custom` (name, input)."""
    if type(call) is not dict:
        raise wrong_type(where, call, "an object")
    string(call, "id", where, required=True)
    kind = call.get("type", "function")
    if kind == "custom":
        custom = required_object(call, "custom", where)
        string(custom, "name", f"{where}.custom", required=True)
        string(custom, "input", f"{where}.custom")
        return
    if kind != "function":
        raise bad_value(f"{where}.type", kind, ("function", "custom"))
    function = required_object(call, "function", where)
    string(function, "name", f"{where}.function", required=True)
    string(function, "arguments", f"{where}.function")


def check_assistant(message: Mapping[str, Any], where: str) -> None:
    calls = message.get("tool_calls")
    if calls is not None:
        if type(calls) is not list:
            raise wrong_type(f"{where}.tool_calls", calls, "an array")
        for index, call in enumerate(calls):
            check_tool_call(call, f"{where}.tool_calls[{index}]")
    legacy = an_object(message, "function_call", where)
    if legacy is not None:
        string(legacy, "name", f"{where}.function_call", required=True)
        string(legacy, "arguments", f"{where}.function_call")
    string(message, "refusal", where)
    audio = an_object(message, "audio", where)
    if audio is not None:
        string(audio, "id", f"{where}.audio", required=True)
    blocks = message.get("thinking_blocks")
    if blocks is not None and not (type(blocks) is list and all(type(block) is dict for block in blocks)):
        raise wrong_type(f"{where}.thinking_blocks", blocks, "an array of objects")


def check_message(message: Mapping[str, Any], role: str, index: int) -> None:
    """The fields of message `index` past its role (already checked); a caller skips {"role", "content": str}."""
    where = f"messages[{index}]"
    content = message.get("content")
    if type(content) is not str:
        check_content(content, f"{where}.content")
    name = message.get("name")
    if name is not None and type(name) is not str:
        raise wrong_type(f"{where}.name", name, "a string")
    if role == "assistant":
        check_assistant(message, where)
    elif role == "tool":
        string(message, "tool_call_id", where, required=True)
    elif role == "function":
        string(message, "name", where, required=True)


def check_function(function: Any, where: str) -> None:
    """A function definition: a name, and optional description, parameters (an object) and strict flag."""
    if type(function) is not dict:
        raise wrong_type(where, function, "an object")
    string(function, "name", where, required=True)
    string(function, "description", where)
    an_object(function, "parameters", where)
    strict = function.get("strict")
    if strict is not None and type(strict) is not bool:
        raise wrong_type(f"{where}.strict", strict, "a boolean")


def check_tools(tools: list[Any]) -> None:
    """Function and custom tools in OpenAI's shape; a provider's own tool types (web_search_...) pass as objects."""
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if type(tool) is not dict:
            raise wrong_type(where, tool, "an object")
        kind = tool.get("type")
        if type(kind) is not str:
            raise missing(f"{where}.type") if kind is None else wrong_type(f"{where}.type", kind, "a string")
        if kind == "function":
            if tool.get("function") is None:
                raise missing(f"{where}.function")
            check_function(tool["function"], f"{where}.function")
        elif kind == "custom":
            custom = required_object(tool, "custom", where)
            string(custom, "name", f"{where}.custom", required=True)


def check_tool_choice(choice: Any) -> None:
    """`none` / `auto` / `required`, or a named function, custom tool or allowed-tools set."""
    if type(choice) is str:
        if choice not in TOOL_CHOICES:
            raise bad_value("tool_choice", choice, TOOL_CHOICES)
        return
    kind = choice.get("type")
    if kind in ("function", "custom"):
        named = required_object(choice, kind, "tool_choice")
        string(named, "name", f"tool_choice.{kind}", required=True)
    elif kind == "allowed_tools":
        allowed = required_object(choice, "allowed_tools", "tool_choice")
        string(allowed, "mode", "tool_choice.allowed_tools", required=True)
        listed = allowed.get("tools")
        if type(listed) is not list or not all(type(tool) is dict for tool in listed):
            raise wrong_type("tool_choice.allowed_tools.tools", listed, "an array of objects")
    else:
        raise bad_value("tool_choice.type", kind, ("function", "custom", "allowed_tools"))


def check_response_format(value: Mapping[str, Any]) -> None:
    """`text`, `json_object`, or `json_schema` with its `json_schema` object (name, schema, strict)."""
    kind = value.get("type")
    if kind not in FORMAT_TYPES:
        raise missing("response_format.type") if kind is None else bad_value("response_format.type", kind,
                                                                              FORMAT_TYPES)
    if kind == "json_schema":
        spec = required_object(value, "json_schema", "response_format")
        string(spec, "name", "response_format.json_schema")
        string(spec, "description", "response_format.json_schema")
        an_object(spec, "schema", "response_format.json_schema")
        strict = spec.get("strict")
        if strict is not None and type(strict) is not bool:
            raise wrong_type("response_format.json_schema.strict", strict, "a boolean")


def check_legacy_functions(body: Mapping[str, Any]) -> None:
    """The deprecated `functions` list and `function_call` choice."""
    functions = body.get("functions")
    if functions is not None:
        if type(functions) is not list:
            raise wrong_type("functions", functions, "an array")
        for index, function in enumerate(functions):
            check_function(function, f"functions[{index}]")
    choice = body.get("function_call")
    if choice is None or choice in ("none", "auto"):
        return
    if type(choice) is not dict:
        raise wrong_type("function_call", choice, "'none', 'auto' or an object")
    string(choice, "name", "function_call", required=True)


def check_stop(stop: Any) -> None:
    """`stop`, when a list, holds strings only."""
    if type(stop) is list and not all(type(item) is str for item in stop):
        raise wrong_type("stop", stop, "a string or an array of strings")


def check_chat_shapes(body: Mapping[str, Any]) -> None:
    """The nested parts of a chat body whose top-level types were already checked."""
    if body.get("tools"):
        check_tools(body["tools"])
    if body.get("tool_choice") is not None:
        check_tool_choice(body["tool_choice"])
    if body.get("response_format") is not None:
        check_response_format(body["response_format"])
    if "functions" in body or "function_call" in body:
        check_legacy_functions(body)
    check_stop(body.get("stop"))
