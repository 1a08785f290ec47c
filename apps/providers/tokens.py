"""A rough token count for prompts, good enough to decide whether a prompt fits a context window.

No tokenizer ships with the gateway (nothing is downloaded at run time), so text is counted at about
four characters per token, the ratio of English text under OpenAI's and Anthropic's tokenizers, and
rounded up; each message adds the few tokens chat formats spend on roles and separators.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

CHARS_PER_TOKEN = 4.0
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3  # the assistant turn every chat prompt is primed with
TOKENS_PER_IMAGE = 765  # OpenAI's cost of one 1024x1024 image at high detail


def text_tokens(text: str) -> int:
    """Approximate tokens in a string."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def content_tokens(content: Any) -> int:
    """Tokens in a message's content: a string, or a list of text and image parts."""
    if isinstance(content, str):
        return text_tokens(content)
    if isinstance(content, list):
        total = 0
        for part in content:
            if not isinstance(part, Mapping):
                continue
            if part.get("type") == "image_url":
                total += TOKENS_PER_IMAGE
            else:
                total += text_tokens(str(part.get("text") or ""))
        return total
    return 0


def message_tokens(message: Mapping[str, Any]) -> int:
    """Tokens one chat message costs, tool calls included."""
    total = TOKENS_PER_MESSAGE + content_tokens(message.get("content"))
    for call in message.get("tool_calls") or ():
        function = (call.get("function") if isinstance(call, Mapping) else None) or {}
        total += text_tokens(str(function.get("name") or "")) + text_tokens(str(function.get("arguments") or ""))
    return total


def chat_tokens(messages: Iterable[Mapping[str, Any]], tools: Any = None) -> int:
    """Approximate prompt tokens of a chat call (messages plus tool definitions)."""
    total = TOKENS_PER_REPLY + sum(message_tokens(m) for m in messages if isinstance(m, Mapping))
    if tools:
        total += text_tokens(repr(tools))
    return total


def input_tokens(value: Any) -> int:
    """Approximate tokens of an embeddings input: a string, strings, or token id lists."""
    if isinstance(value, str):
        return text_tokens(value)
    if isinstance(value, list):
        if value and isinstance(value[0], int):
            return len(value)
        return sum(input_tokens(item) for item in value)
    return 0
