"""A /v1/messages body -> a checked request: Anthropic's validation rules, errors naming the field as Anthropic does."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.core.errors import InvalidRequest
from apps.providers.anthropic_messages.request import chat_call
from apps.providers.base import ChatCall
from apps.routing.messages_blocks import check_block, check_options
from apps.routing.parsing import GATEWAY_FIELDS, CallOptions, check_type, call_options, require_model, parse_json_object

FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "system": (str, list), "stream": (bool,), "temperature": (int, float), "top_p": (int, float), "top_k": (int,),
    "stop_sequences": (list,), "tools": (list,), "tool_choice": (dict,), "metadata": (dict,), "thinking": (dict,),
}


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    """A checked Messages call: the body as sent (gateway fields removed) and the chat call it stands for."""

    body: dict[str, Any]
    call: ChatCall
    options: CallOptions

    @property
    def stream(self) -> bool:
        return self.call.stream


def invalid(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="invalid_request_error")


def check_blocks(content: Any, where: str) -> list[Mapping[str, Any]]:
    """A turn's content: a string, or a list of blocks that each name their type."""
    if isinstance(content, str):
        return []
    if not isinstance(content, list):
        raise invalid(f"{where}: Input should be a valid string or a list of content blocks", where)
    for position, block in enumerate(content):
        check_block(block, f"{where}.{position}")
    return content


def check_tool_results(blocks: list[Mapping[str, Any]], called: set[str], index: int) -> None:
    """Every tool_result answers a tool_use of the turn before it (Anthropic's rule)."""
    for position, block in enumerate(blocks):
        if block.get("type") == "tool_result" and block.get("tool_use_id") not in called:
            raise invalid(f"messages.{index}.content.{position}: unexpected `tool_use_id` found in `tool_result` "
                          f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                          "`tool_use` block in the previous message.", f"messages.{index}.content.{position}")


def check_messages(messages: Any) -> None:
    """Non-empty turns with user/assistant roles, starting with the user, tool results matching tool uses."""
    if not isinstance(messages, list):
        raise invalid("messages: Field required" if messages is None else "messages: Input should be a list",
                      "messages")
    if not messages:
        raise invalid("messages: at least one message is required", "messages")
    called: set[str] = set()
    for index, turn in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(turn, dict):
            raise invalid(f"{where}: Input should be an object", where)
        role = turn.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"{where}.role: Unexpected role {role!r}. The Messages API accepts a top-level `system` "
                          "parameter, not \"system\" as an input message role; roles are \"user\" and \"assistant\".",
                          f"{where}.role")
        if index == 0 and role != "user":
            raise invalid("messages: first message must use the \"user\" role", "messages.0.role")
        if "content" not in turn:
            raise invalid(f"{where}.content: Field required", f"{where}.content")
        blocks = check_blocks(turn["content"], f"{where}.content")
        if role == "user":
            check_tool_results(blocks, called, index)
        called = {str(block.get("id")) for block in blocks if block.get("type") == "tool_use"}


def check_fields(body: Mapping[str, Any]) -> None:
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise invalid("max_tokens: Field required", "max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise invalid("max_tokens: Input should be an integer of at least 1", "max_tokens")
    check_types(body)


def check_types(body: Mapping[str, Any]) -> None:
    """The top-level fields' types, then the blocks, tools and options inside them."""
    for name, allowed in FIELD_TYPES.items():
        check_type(name, body.get(name), allowed)
    check_options(body)


def parse_messages_request(raw: bytes) -> MessagesRequest:
    """A Messages body as a checked request, with its routing options (LiteLLM's body fields)."""
    body = parse_json_object(raw)
    require_model(body)
    check_messages(body.get("messages"))
    check_fields(body)
    sent = {key: value for key, value in body.items() if key not in GATEWAY_FIELDS}
    return MessagesRequest(body=sent, call=chat_call(sent), options=call_options(body, endpoint=True))


def parse_count_request(raw: bytes) -> MessagesRequest:
    """A count_tokens body: a Messages body without max_tokens."""
    body = parse_json_object(raw)
    require_model(body)
    check_messages(body.get("messages"))
    check_types(body)
    sent = {key: value for key, value in body.items() if key not in GATEWAY_FIELDS}
    sent.setdefault("max_tokens", 1)
    return MessagesRequest(body=sent, call=chat_call(sent), options=call_options(body))
