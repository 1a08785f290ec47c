"""A Responses API answer from a provider that has the API, read on its way to the client: the response ids
renamed to the gateway's, usage and the final response picked out for billing and storage."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apps.core import jsonutil
from apps.providers.base import Frame, UpstreamError, Usage
from apps.providers.responses.output import usage_from_responses

Rename = Callable[[dict[str, Any]], dict[str, Any]]  # a Response object -> the same with the gateway's ids
TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
DELTAS = frozenset({"response.output_text.delta", "response.function_call_arguments.delta",
                    "response.reasoning_summary_text.delta", "response.refusal.delta"})


def frame_bytes(frame: Frame, data: bytes) -> bytes:
    """An SSE event with `data`, under the frame's event name."""
    head = b"event: " + frame.event.encode() + b"\n" if frame.event else b""
    return head + b"data: " + data + b"\n\n"


# An error event's code -> the status it stands for (any other is a server error, worth another deployment).
ERROR_STATUS = {"rate_limit_exceeded": 429, "invalid_prompt": 400, "context_length_exceeded": 400}
STATUS_TYPE = {429: "rate_limit_error", 400: "invalid_request_error"}


def event_error(error: Mapping[str, Any], *, provider: str) -> UpstreamError:
    """The UpstreamError for a stream's `error` event, or the `error` of its `response.failed`."""
    code = str(error.get("code") or "server_error")
    status = ERROR_STATUS.get(code, 500)
    return UpstreamError(str(error.get("message") or f"upstream {provider} failed the response"), status=status,
                         error_type=STATUS_TYPE.get(status, "server_error"), code=code, provider=provider)


@dataclass(slots=True)
class PassedStream:
    """Reads a passed-through Responses stream: renames ids in the events that carry the response, keeps the
    final response, counts the text generated (to bill a stream cut short) and keeps an error event as `failure`
    (so one before any text can fail over). A frame that is not JSON raises, `[DONE]` (some servers add it) aside."""

    rename: Rename
    provider: str = ""
    final: dict[str, Any] | None = None
    generated_chars: int = 0
    error: str = ""
    failure: UpstreamError | None = None
    upstream_id: str = ""

    def feed(self, frame: Frame) -> bytes:
        """The bytes the client gets for one upstream event."""
        if not frame.data or frame.data == b"[DONE]":
            return frame_bytes(frame, frame.data) if frame.data else b""
        data = jsonutil.loads(frame.data)
        kind = data.get("type") if isinstance(data, dict) else None
        if kind in DELTAS and isinstance(data.get("delta"), str):
            self.generated_chars += len(data["delta"])
        elif kind == "error":
            self.error = str(data.get("code") or "api_error")
            self.failure = event_error(data, provider=self.provider)
        response = data.get("response") if isinstance(data, dict) else None
        if not isinstance(response, dict):
            return frame_bytes(frame, frame.data)
        self.upstream_id = str(response.get("id") or self.upstream_id)
        renamed = self.rename(response)
        if kind in TERMINAL:
            self.final = renamed
            if kind == "response.failed":
                failed = response.get("error")
                failed = failed if isinstance(failed, Mapping) else {}
                self.error = str(failed.get("code") or "response_failed")
                self.failure = event_error(failed, provider=self.provider)
        return frame_bytes(frame, jsonutil.dumps({**data, "response": renamed}))

    @property
    def finished(self) -> bool:
        """Whether the final event (completed, incomplete or failed) came."""
        return self.final is not None

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
