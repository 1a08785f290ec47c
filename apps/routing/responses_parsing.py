"""A /v1/responses body -> a checked request: OpenAI's validation rules, errors naming the field."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.core.errors import InvalidRequest
from apps.core.shapes import an_object, string
from apps.providers.responses.items import input_items
from apps.routing.chat_shapes import check_function
from apps.routing.parsing import GATEWAY_FIELDS, NUMBER, CallOptions, call_options, check_type, parse_json_object, \
    require_model

FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "instructions": (str,), "max_output_tokens": (int,), "stream": (bool,), "store": (bool,),
    "previous_response_id": (str,), "tools": (list,), "tool_choice": (str, dict), "temperature": NUMBER,
    "top_p": NUMBER, "parallel_tool_calls": (bool,), "metadata": (dict,), "text": (dict,), "reasoning": (dict,),
    "background": (bool,), "include": (list,), "truncation": (str,), "user": (str,), "max_tool_calls": (int,),
}
TOOL_CHOICES = ("none", "auto", "required")


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    """A checked Responses call: the body as sent (gateway fields removed) and this turn's input items."""

    body: dict[str, Any]
    items: list[dict[str, Any]]
    options: CallOptions

    @property
    def model(self) -> str:
        return str(self.body["model"])

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def store(self) -> bool:
        return self.body.get("store") is not False

    @property
    def background(self) -> bool:
        return bool(self.body.get("background"))

    @property
    def previous_response_id(self) -> str:
        return str(self.body.get("previous_response_id") or "")


def check_tools(tools: list[Any]) -> None:
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise InvalidRequest(f"Missing required parameter: 'tools[{index}].type'.", param=f"tools[{index}].type",
                                 code="missing_required_parameter")
        if tool["type"] == "function":
            check_function(tool, f"tools[{index}]")


def check_choice_and_format(body: dict[str, Any]) -> None:
    """A named tool_choice names its tool; `text.format` is typed as chat's response_format reads it."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        string(choice, "type", "tool_choice", required=True)
        if choice["type"] == "function":
            string(choice, "name", "tool_choice", required=True)
    fmt = an_object(body["text"], "format", "text") if isinstance(body.get("text"), dict) else None
    if fmt is not None:
        string(fmt, "type", "text.format", required=True)
        if fmt["type"] == "json_schema":
            string(fmt, "name", "text.format")
            an_object(fmt, "schema", "text.format")


def check_fields(body: dict[str, Any]) -> None:
    for name, allowed in FIELD_TYPES.items():
        check_type(name, body.get(name), allowed)
    if body.get("max_output_tokens") is not None and body["max_output_tokens"] < 1:
        raise InvalidRequest("Invalid value for 'max_output_tokens': must be at least 1.", param="max_output_tokens",
                             code="invalid_value")
    choice = body.get("tool_choice")
    if isinstance(choice, str) and choice not in TOOL_CHOICES:
        raise InvalidRequest(f"Invalid value: '{choice}'. Supported values are: 'none', 'auto' and 'required'.",
                             param="tool_choice", code="invalid_value")
    check_tools(body.get("tools") or [])
    check_choice_and_format(body)
    if body.get("background") and body.get("stream"):
        raise InvalidRequest("Background responses are not streamed by this gateway: send background without "
                             "stream, then GET the response.", param="background", code="unsupported_parameter")
    if body.get("background") and body.get("store") is False:
        raise InvalidRequest("Background responses must be stored: background=true cannot be used with store=false.",
                             param="background", code="invalid_value")


def parse_responses_request(raw: bytes) -> ResponsesRequest:
    """A Responses body as a checked request, with its routing options (LiteLLM's body fields)."""
    body = parse_json_object(raw)
    require_model(body)
    items = input_items(body.get("input"))
    check_fields(body)
    sent = {key: value for key, value in body.items() if key not in GATEWAY_FIELDS}
    return ResponsesRequest(body=sent, items=items, options=call_options(body, endpoint=True))


def page_params(query: dict[str, str]) -> tuple[int, str, str]:
    """`limit` (1-100, 20 by default), `order` (asc or desc, desc by default) and `after` of an input_items list."""
    raw = query.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise InvalidRequest("Invalid value for 'limit': must be an integer from 1 to 100.", param="limit",
                             code="invalid_value")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequest(f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", param="order",
                             code="invalid_value")
    return int(raw), order, query.get("after", "")
