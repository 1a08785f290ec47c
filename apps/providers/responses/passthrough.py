"""A Responses API answer from a provider that has the API, read on its way to the client: the response ids
renamed to the gateway's, usage and the final response picked out for billing and storage."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apps.core import jsonutil
from apps.providers.base import Frame, Usage
from apps.providers.responses.output import usage_from_responses

Rename = Callable[[dict[str, Any]], dict[str, Any]]  # a Response object -> the same with the gateway's ids
TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
DELTAS = frozenset({"response.output_text.delta", "response.function_call_arguments.delta",
                    "response.reasoning_summary_text.delta", "response.refusal.delta"})


def frame_bytes(frame: Frame, data: bytes) -> bytes:
    """An SSE event with `data`, under the frame's event name."""
    head = b"event: " + frame.event.encode() + b"\n" if frame.event else b""
    return head + b"data: " + data + b"\n\n"


@dataclass(slots=True)
class PassedStream:
    """Reads a passed-through Responses stream: renames ids in the events that carry the response, keeps the
    final response and counts the text generated (to bill a stream cut short)."""

    rename: Rename
    final: dict[str, Any] | None = None
    generated_chars: int = 0
    error: str = ""
    upstream_id: str = ""

    def feed(self, frame: Frame) -> bytes:
        """The bytes the client gets for one upstream event."""
        if not frame.data:
            return b""
        try:
            data = jsonutil.loads(frame.data)
        except jsonutil.JSONDecodeError:  # not an event of the API (a `[DONE]` some servers add): passed on as is
            return frame_bytes(frame, frame.data)
        kind = data.get("type") if isinstance(data, dict) else None
        if kind in DELTAS and isinstance(data.get("delta"), str):
            self.generated_chars += len(data["delta"])
        elif kind == "error":
            self.error = str(data.get("code") or "api_error")
        response = data.get("response") if isinstance(data, dict) else None
        if not isinstance(response, dict):
            return frame_bytes(frame, frame.data)
        self.upstream_id = str(response.get("id") or self.upstream_id)
        renamed = self.rename(response)
        if kind in TERMINAL:
            self.final = renamed
            if kind == "response.failed":
                self.error = str((response.get("error") or {}).get("code") or "response_failed")
        return frame_bytes(frame, jsonutil.dumps({**data, "response": renamed}))

    @property
    def usage(self) -> Usage | None:
        """The provider's count, once the final event told it."""
        if self.final is None or not isinstance(self.final.get("usage"), Mapping):
            return None
        return usage_from_responses(self.final["usage"])


@dataclass(frozen=True, slots=True)
class Renamer:
    """Gives a provider's Response object the gateway's ids (its own and its predecessor's)."""

    encode: Callable[[str], str]  # provider id -> gateway id
    previous_response_id: str | None = None

    def __call__(self, response: dict[str, Any]) -> dict[str, Any]:
        upstream = str(response.get("id") or "")
        renamed = {**response, "id": self.encode(upstream) if upstream else upstream}
        if "previous_response_id" in response or self.previous_response_id:
            renamed["previous_response_id"] = self.previous_response_id
        return renamed
