"""Anthropic's own Messages API calls passed through untouched: the body as the client sent it (model renamed to the
deployment's), the answer back byte for byte, usage read on the way for metering."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.core import jsonutil
from apps.providers.adapters.anthropic.response import anthropic_error, usage_from_anthropic
from apps.providers.base import Frame, UpstreamError, Usage

CLIENT_HEADERS = ("anthropic-version", "anthropic-beta")  # the client's choice of API version and betas is kept
DELTA_TEXT = {"text_delta": "text", "input_json_delta": "partial_json", "thinking_delta": "thinking"}


def client_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The Anthropic headers of the client's request that go upstream with its body."""
    return {name: headers[name] for name in CLIENT_HEADERS if headers.get(name)}


def passthrough_body(body: Mapping[str, Any], model: str) -> bytes:
    """The client's body for the deployment's model."""
    return jsonutil.dumps({**body, "model": model})


# The fields Anthropic's count_tokens takes (it rejects max_tokens, stream and the sampling parameters).
COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers")


def count_body(body: Mapping[str, Any], model: str) -> bytes:
    """The client's body as a count_tokens request for the deployment's model."""
    return jsonutil.dumps({**{k: v for k, v in body.items() if k in COUNT_FIELDS}, "model": model})


def counted_tokens(body: bytes) -> int | None:
    """`input_tokens` of a count_tokens answer, or None when it has none."""
    data = jsonutil.loads(body)
    count = data.get("input_tokens") if isinstance(data, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def answer_usage(body: bytes) -> Usage:
    """The usage of a whole Messages answer."""
    data = jsonutil.loads(body)
    return usage_from_anthropic(data.get("usage") if isinstance(data, dict) else None)


@dataclass(slots=True)
class StreamUsage:
    """Reads a passed-through stream's events: usage from message_start and message_delta, text generated so far
    (to bill a stream cut short), and whether it ended with message_stop or an error event (kept as `failure`, so
    one before any text can fail over)."""

    raw: dict[str, Any] = field(default_factory=dict)
    generated_chars: int = 0
    finished: bool = False
    error: str = ""
    failure: UpstreamError | None = None

    def feed(self, frame: Frame) -> None:
        if not frame.data:
            return
        data = jsonutil.loads(frame.data)
        kind = data.get("type")
        if kind == "message_start":
            self.raw.update((data.get("message") or {}).get("usage") or {})
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            text = delta.get(DELTA_TEXT.get(str(delta.get("type")), ""))
            self.generated_chars += len(text) if isinstance(text, str) else 0
        elif kind == "message_delta":
            self.raw.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            self.error = str((data.get("error") or {}).get("type") or "api_error")
            self.failure = anthropic_error(status=None, headers={}, body=data)

    @property
    def usage(self) -> Usage | None:
        """The provider's count once the stream told it (output tokens arrive with message_delta)."""
        return usage_from_anthropic(self.raw) if "output_tokens" in self.raw and self.finished else None
