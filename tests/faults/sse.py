"""OpenAI stream events as an upstream sends them, and a client's reading of the gateway's stream."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from apps.core import jsonutil
from tests.conftest import MASTER_KEY

MSG = [{"role": "user", "content": "hello"}]


def event(*, id: str = "up-1", model: str = "first", content: str | None = None, role: str | None = None,
          finish: str | None = None, usage: tuple[int, int] | None = None) -> bytes:
    """One `chat.completion.chunk` SSE event (a usage-only event when `usage` is given)."""
    body: dict[str, Any] = {"id": id, "object": "chat.completion.chunk", "created": 1700000000, "model": model}
    if usage is not None:
        body.update(choices=[], usage={"prompt_tokens": usage[0], "completion_tokens": usage[1],
                                       "total_tokens": sum(usage)})
    else:
        delta = {k: v for k, v in (("role", role), ("content", content)) if v is not None}
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    return b"data: " + jsonutil.dumps(body) + b"\n\n"


def answer(pieces: Sequence[str], *, id: str, model: str, usage: tuple[int, int]) -> list[bytes]:
    """A whole streamed answer: role, the content pieces, stop, usage, [DONE]."""
    return [event(id=id, model=model, role="assistant", content=""),
            *(event(id=id, model=model, content=piece) for piece in pieces),
            event(id=id, model=model, finish="stop"), event(id=id, model=model, usage=usage), b"data: [DONE]\n\n"]


@dataclass(frozen=True)
class ReadStream:
    """What a client read: status, the JSON events, whether [DONE] ended it, and the raw text."""

    status: int
    events: list[dict[str, Any]]
    done: bool
    text: str

    @property
    def content(self) -> str:
        return "".join((choice.get("delta") or {}).get("content") or ""
                       for e in self.events for choice in e.get("choices") or ())


def read_stream(url: str, *, request_id: str, **body: Any) -> ReadStream:
    """POST a streamed chat call and read it to its end."""
    headers = {"Authorization": f"Bearer {MASTER_KEY}", "x-request-id": request_id}
    response = httpx.post(f"{url}/v1/chat/completions", headers=headers, timeout=30,
                          json={"model": "upstream-gpt", "messages": MSG, "stream": True, **body})
    parts = [part.removeprefix("data: ") for part in response.text.split("\n\n") if part.startswith("data: ")]
    done = bool(parts) and parts[-1] == "[DONE]"
    events = [jsonutil.loads(part) for part in parts if part != "[DONE]"]
    return ReadStream(response.status_code, events, done, response.text)
