"""Streams that fail after a 200 but before their first generated token, in each wire format the gateway reads
(OpenAI chat, legacy completions, Anthropic Messages, OpenAI Responses), and what the failing deployment left.

Each list is `(reply, error_type)` cases: the upstream answers 200, starts its stream with an event that carries
no text, then drops the connection, sends a frame that is not JSON, or sends an error event.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.test_routing import pair, router
from tests.faults.sse import event
from tests.faults.test_stream_resume import CUT, REST
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.recording import Reply

PRICE = {"input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}


def fresh_id() -> str:
    """A request id of this test alone (a late flush from an earlier test cannot be mistaken for its rows)."""
    return f"req-{uuid.uuid4().hex}"


def cases(start: bytes, broken: bytes, error: bytes, *extra: Any) -> list[Any]:
    """The three early faults after the stream's textless first event `start`."""
    return [pytest.param(Reply.stream([start], drop=True), "upstream_unreachable", id="dropped_before_text_case"),
            pytest.param(Reply.stream([start, broken]), "malformed_upstream_response",
                         id="broken_frame_before_text_case"),
            pytest.param(Reply.stream([start, error]), None, id="error_event_before_text_case"), *extra]


CHAT_ERROR = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
CHAT_FAULTS = cases(event(role="assistant", content=""),
                    b'data: {"id": "up-1", "choices": [{"index": 0, "delta": {"content": "and th\n\n', CHAT_ERROR)

COMPLETION_FAULTS = cases(
    b'data: {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "first", '
    b'"choices": [{"text": "", "index": 0, "logprobs": null, "finish_reason": null}]}\n\n',
    b'data: {"id": "cmpl-1", "object": "text_completion", "choices": [{"text": "and th\n\n', CHAT_ERROR)


def anthropic_sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


ANTHROPIC_START = anthropic_sse({"type": "message_start", "message": {
    "id": "msg_broken", "type": "message", "role": "assistant", "content": [], "model": "claude-broken",
    "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}})
ANTHROPIC_FAULTS = cases(
    ANTHROPIC_START, b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delt\n\n',
    anthropic_sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    pytest.param(Reply.stream([ANTHROPIC_START]), "malformed_upstream_response", id="ended_before_text_case"))


def responses_sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


RESPONSE_SHELL = {"id": "resp_broken", "object": "response", "created_at": 1700000000, "status": "in_progress",
                  "model": "first", "output": [], "usage": None}
RESPONSES_START = responses_sse({"type": "response.created", "response": RESPONSE_SHELL, "sequence_number": 0})
RESPONSES_FAULTS = cases(
    RESPONSES_START, b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", "del\n\n',
    responses_sse({"type": "error", "code": "server_error", "message": "overloaded", "param": None,
                   "sequence_number": 1}),
    pytest.param(Reply.stream([RESPONSES_START, responses_sse({
        "type": "response.failed", "sequence_number": 1, "response": {
            **RESPONSE_SHELL, "status": "failed", "error": {"code": "server_error", "message": "overloaded"}}})]),
        None, id="response_failed_before_text_case"),
    pytest.param(Reply.stream([RESPONSES_START]), "malformed_upstream_response", id="ended_before_text_case"))


def pair_on(upstream_model: Any, provider: str) -> tuple[Any, Any]:
    """`pair`'s two deployments (`first` tried first), both of `provider` on the OpenAI mock."""
    first, second = pair(upstream_model, provider=provider)
    first.provider = provider
    first.save(update_fields=["provider"])
    return first, second


def cut_then_resumed(upstream_model: Any, upstream: Any, provider: str = "openai") -> None:
    """`stream_resume` on; `first` cuts its stream after "The answer is", `second` gives the rest, " 42."."""
    pair_on(upstream_model, provider)
    router(stream_resume=True, allowed_fails=100)
    upstream.always_for("first", CUT)
    upstream.always_for("second", REST)


def resumed_over_chat(upstream: Any, request_id: str, output_tokens: int) -> None:
    """After `cut_then_resumed` over chat: `second` was asked for the rest with the text so far as the assistant's
    prefix, the cut attempt is a failure row, the rest a success of 2 tokens, and the client's usage sums both."""
    assert upstream.models_called() == ["first", "second"]
    assert upstream.requests[1].json()["messages"][-2] == {"role": "assistant", "content": "The answer is"}
    cut, rest = wait_for_spend_rows(2, request_id=request_id)
    assert (cut.status, rest.status, rest.completion_tokens) == ("failure", "success", 2)
    assert output_tokens == cut.completion_tokens + 2


def served_by_second(request_id: str, *, first: Any, second: Any, error_type: str | None) -> Any:
    """The call's spend rows: the failed attempt on `first`, free, then the one `second` served; that one."""
    rows = wait_for_spend_rows(2, request_id=request_id)
    assert [(r.attempt, r.deployment_id, r.status) for r in rows] == [
        (1, str(first.pk), "failure"), (2, str(second.pk), "success")], [(r.deployment_id, r.status) for r in rows]
    failed, served = rows
    assert (failed.cost, failed.completion_tokens) == (0, 0)
    assert error_type is None or failed.error_type == error_type
    assert served.cost > 0
    return served


ANTHROPIC_TEXT = [ANTHROPIC_START,
                  anthropic_sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                  anthropic_sse({"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Hello"}})]
RESPONSES_TEXT = [RESPONSES_START, responses_sse({"type": "response.output_text.delta", "item_id": "msg_1",
                                                  "output_index": 0, "content_index": 0, "delta": "Hello",
                                                  "sequence_number": 1})]


def cut_after_text(pieces: list[bytes], broken: bytes) -> list[Any]:
    """A passed-through stream that gave its first text, then lost its connection or sent an unreadable frame
    (paced, so the text comes in a read of its own: one read holding both is unreadable before any text went out,
    and fails over)."""
    return [pytest.param(Reply.stream(pieces, drop=True), "upstream_unreachable", id="dropped_after_text_case"),
            pytest.param(Reply.stream([*pieces, broken], delay=0.05), "malformed_upstream_response",
                         id="broken_frame_after_text_case")]


ANTHROPIC_CUTS = cut_after_text(ANTHROPIC_TEXT, ANTHROPIC_FAULTS[1].values[0].pieces[1])
RESPONSES_CUTS = cut_after_text(RESPONSES_TEXT, RESPONSES_FAULTS[1].values[0].pieces[1])
