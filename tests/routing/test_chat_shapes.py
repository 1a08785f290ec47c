"""The chat body's nested shapes: every shape OpenAI's schema takes passes, a wrong one is a 400 naming its path."""
from __future__ import annotations

from typing import Any

import pytest

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.routing.parsing import parse_chat_request

USER = {"role": "user", "content": "hi"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def parse(**body: Any) -> None:
    parse_chat_request(jsonutil.dumps({"model": "m", "messages": [USER], **body}))


def with_message(message: dict[str, Any], **body: Any) -> None:
    parse(messages=[USER, message], **body)


@pytest.mark.parametrize("body", [
    pytest.param({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "low"}},
        {"type": "image_url", "image_url": "https://x/b.png"},
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}},
        {"type": "file", "file": {"file_id": "file-1"}},
        {"type": "text", "text": "cached", "cache_control": {"type": "ephemeral"}},
        {"type": "document", "source": {"type": "text", "data": "x"}}, {"type": "video_url", "video_url": "v"}]}]},
        id="user_parts_case"),
    pytest.param({"messages": [{"role": "system", "content": [{"type": "text", "text": "be brief"}]},
                               {"role": "developer", "content": "dev", "name": "d"}, USER]}, id="system_parts_case"),
    pytest.param({"messages": [USER, {"role": "assistant", "content": None, "tool_calls": [CALL]},
                               {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "9"}]}]},
                 id="tool_round_trip_case"),
    pytest.param({"messages": [USER, {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}],
                                      "refusal": "no", "audio": {"id": "a1"}}]}, id="refusal_case"),
    pytest.param({"messages": [USER, {"role": "assistant", "content": None,
                                      "function_call": {"name": "f", "arguments": "{}"}},
                               {"role": "function", "name": "f", "content": None}],
                  "functions": [{"name": "f", "parameters": {}}], "function_call": {"name": "f"}}, id="legacy_case"),
    pytest.param({"messages": [USER, {"role": "assistant", "content": "x", "tool_calls": [
        {"id": "c", "type": "custom", "custom": {"name": "g", "input": "raw"}}],
        "thinking_blocks": [{"type": "thinking", "thinking": "t"}]}]}, id="custom_call_case"),
    pytest.param({"tools": [TOOL, {"type": "custom", "custom": {"name": "g"}}, {"type": "web_search_20250305"}],
                  "tool_choice": {"type": "function", "function": {"name": "f"}}}, id="tools_case"),
    pytest.param({"tools": [TOOL], "tool_choice": {"type": "allowed_tools", "allowed_tools": {
        "mode": "auto", "tools": [TOOL]}}}, id="allowed_tools_case"),
    pytest.param({"tools": [TOOL], "tool_choice": "required"}, id="tool_choice_string_case"),
    pytest.param({"response_format": {"type": "json_schema", "json_schema": {
        "name": "a", "schema": {"type": "object"}, "strict": True}}}, id="json_schema_case"),
    pytest.param({"response_format": {"type": "json_object"}, "stop": ["\n", "END"]}, id="json_object_case"),
    pytest.param({"messages": [{"role": "user", "content": None}]}, id="null_content_case"),
])
def test_every_shape_openai_takes_passes(body: dict[str, Any]) -> None:
    parse(**body)


BAD_MESSAGES = [
    pytest.param({"role": "user", "content": {"a": 1}}, "messages[1].content", "invalid_type", id="content_object_case"),
    pytest.param({"role": "user", "content": [5]}, "messages[1].content[0]", "invalid_type", id="part_number_case"),
    pytest.param({"role": "user", "content": [{"type": "text", "text": {"x": 1}}]}, "messages[1].content[0].text",
                 "invalid_type", id="text_object_case"),
    pytest.param({"role": "user", "content": [{"type": "text"}]}, "messages[1].content[0].text",
                 "missing_required_parameter", id="text_missing_case"),
    pytest.param({"role": "user", "content": [{"text": "x"}]}, "messages[1].content[0].type",
                 "missing_required_parameter", id="part_type_missing_case"),
    pytest.param({"role": "user", "content": [{"type": "hologram"}]}, "messages[1].content[0].type", "invalid_value",
                 id="part_type_unknown_case"),
    pytest.param({"role": "user", "content": [{"type": "image_url", "image_url": 5}]},
                 "messages[1].content[0].image_url", "invalid_type", id="image_url_number_case"),
    pytest.param({"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]},
                 "messages[1].content[0].image_url.url", "invalid_type", id="image_url_url_number_case"),
    pytest.param({"role": "user", "content": [{"type": "image_url"}]}, "messages[1].content[0].image_url",
                 "missing_required_parameter", id="image_url_missing_case"),
    pytest.param({"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x"}}]},
                 "messages[1].content[0].input_audio.format", "missing_required_parameter", id="audio_format_case"),
    pytest.param({"role": "user", "content": [{"type": "file", "file": "f"}]}, "messages[1].content[0].file",
                 "invalid_type", id="file_string_case"),
    pytest.param({"role": "system", "content": [5]}, "messages[1].content[0]", "invalid_type", id="system_part_case"),
    pytest.param({"role": "user", "content": "x", "name": 3}, "messages[1].name", "invalid_type", id="name_case"),
    pytest.param({"role": "assistant", "tool_calls": [5]}, "messages[1].tool_calls[0]", "invalid_type",
                 id="tool_call_number_case"),
    pytest.param({"role": "assistant", "tool_calls": {"id": "a"}}, "messages[1].tool_calls", "invalid_type",
                 id="tool_calls_object_case"),
    pytest.param({"role": "assistant", "tool_calls": [{"id": "a", "function": 5}]},
                 "messages[1].tool_calls[0].function", "invalid_type", id="tool_call_function_number_case"),
    pytest.param({"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]},
                 "messages[1].tool_calls[0].id", "missing_required_parameter", id="tool_call_id_case"),
    pytest.param({"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": {}}}]},
                 "messages[1].tool_calls[0].function.arguments", "invalid_type", id="arguments_object_case"),
    pytest.param({"role": "assistant", "tool_calls": [{"id": "a", "type": "magic", "function": {"name": "f"}}]},
                 "messages[1].tool_calls[0].type", "invalid_value", id="tool_call_type_case"),
    pytest.param({"role": "assistant", "function_call": {"arguments": "{}"}}, "messages[1].function_call.name",
                 "missing_required_parameter", id="function_call_name_case"),
    pytest.param({"role": "assistant", "content": "x", "thinking_blocks": [1]}, "messages[1].thinking_blocks",
                 "invalid_type", id="thinking_blocks_case"),
    pytest.param({"role": "tool", "content": "9"}, "messages[1].tool_call_id", "missing_required_parameter",
                 id="tool_call_id_missing_case"),
    pytest.param({"role": "tool", "tool_call_id": "c", "content": [5]}, "messages[1].content[0]", "invalid_type",
                 id="tool_part_case"),
    pytest.param({"role": "function", "content": "x"}, "messages[1].name", "missing_required_parameter",
                 id="function_name_case"),
]


@pytest.mark.parametrize(("message", "param", "code"), BAD_MESSAGES)
def test_a_malformed_message_is_refused_naming_its_path(message: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        with_message(message)
    assert (caught.value.param, caught.value.error_code) == (param, code)
    assert f"'{param}'" in caught.value.message or "Supported values" in caught.value.message


BAD_BODIES = [
    pytest.param({"tools": [5]}, "tools[0]", "invalid_type", id="tool_number_case"),
    pytest.param({"tools": [{"type": "function", "function": 5}]}, "tools[0].function", "invalid_type",
                 id="tool_function_number_case"),
    pytest.param({"tools": [{"type": "function"}]}, "tools[0].function", "missing_required_parameter",
                 id="tool_function_missing_case"),
    pytest.param({"tools": [{"function": {"name": "f"}}]}, "tools[0].type", "missing_required_parameter",
                 id="tool_type_missing_case"),
    pytest.param({"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
                 "tools[0].function.parameters", "invalid_type", id="tool_parameters_case"),
    pytest.param({"tools": [{"type": "function", "function": {"name": 1}}]}, "tools[0].function.name",
                 "invalid_type", id="tool_name_case"),
    pytest.param({"tools": [{"type": "custom", "custom": {}}]}, "tools[0].custom.name",
                 "missing_required_parameter", id="custom_tool_name_case"),
    pytest.param({"tool_choice": "always"}, "tool_choice", "invalid_value", id="tool_choice_word_case"),
    pytest.param({"tool_choice": {"type": "function", "function": 5}}, "tool_choice.function", "invalid_type",
                 id="tool_choice_function_case"),
    pytest.param({"tool_choice": {"type": "function", "function": {}}}, "tool_choice.function.name",
                 "missing_required_parameter", id="tool_choice_name_case"),
    pytest.param({"tool_choice": {"type": "tool", "name": "f"}}, "tool_choice.type", "invalid_value",
                 id="tool_choice_type_case"),
    pytest.param({"tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [1]}}},
                 "tool_choice.allowed_tools.tools", "invalid_type", id="allowed_tools_case"),
    pytest.param({"response_format": {"type": "json_schema", "json_schema": 5}}, "response_format.json_schema",
                 "invalid_type", id="json_schema_number_case"),
    pytest.param({"response_format": {"type": "json_schema"}}, "response_format.json_schema",
                 "missing_required_parameter", id="json_schema_missing_case"),
    pytest.param({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": "s"}}},
                 "response_format.json_schema.schema", "invalid_type", id="schema_string_case"),
    pytest.param({"response_format": {"type": "yaml"}}, "response_format.type", "invalid_value", id="format_case"),
    pytest.param({"response_format": {}}, "response_format.type", "missing_required_parameter",
                 id="format_type_missing_case"),
    pytest.param({"functions": [{"description": "x"}]}, "functions[0].name", "missing_required_parameter",
                 id="functions_case"),
    pytest.param({"function_call": 5}, "function_call", "invalid_type", id="function_call_case"),
    pytest.param({"stop": ["a", 5]}, "stop", "invalid_type", id="stop_case"),
]


@pytest.mark.parametrize(("body", "param", "code"), BAD_BODIES)
def test_a_malformed_tool_or_format_is_refused_naming_its_path(body: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(**body)
    assert (caught.value.param, caught.value.error_code) == (param, code)


def test_the_first_bad_message_is_the_one_named() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(messages=[USER, USER, {"role": "user", "content": [{"type": "text", "text": "ok"}, {"type": [3]}]}, USER])
    assert caught.value.param == "messages[2].content[1].type"
