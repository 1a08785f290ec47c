"""An upstream that fails in every way we know, behind a real gateway process: 500s, 429s with Retry-After, hangs,
a connection dropped mid-stream, malformed JSON, broken SSE frames. Each time the client gets a clean answer or
an OpenAI-shaped error, the next call succeeds, and the spend rows are exactly the attempts the upstream got."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.core import jsonutil
from tests.conftest import GatewayProcess
from tests.faults.sse import MSG, event, read_stream
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

PRICE = Decimal("0.001")  # per completion token; prompt tokens are free
ERROR_KEYS = {"message", "type", "param", "code"}
HI = event(content="Hi there")
ROLE = event(role="assistant", content="")
BROKEN = b'data: {"id": "up-1", "choices": [{"index": 0, "delta": {"content": "and th\n\n'

FAULTS = [
    pytest.param(Reply.json(500, {"error": {"message": "upstream broke", "type": "server_error"}}), 502,
                 "upstream broke", id="server_error_case"),
    pytest.param(Reply.json(429, {"error": {"message": "slow down", "type": "rate_limit_error"}},
                            headers={"retry-after": "7"}), 429, "slow down", id="rate_limited_case"),
    pytest.param(Reply(stall=True), 408, "timed out", id="hang_case"),
    pytest.param(Reply(200, {"Content-Type": "application/json"}, b'{"id": "chatcmpl-1", "choices": [{"mess'),
                 502, "malformed answer", id="malformed_json_case"),
]
STREAM_FAULTS = [
    *FAULTS,
    pytest.param(Reply.stream([ROLE], drop=True), 502, "RemoteProtocolError", id="dropped_before_text_case"),
    pytest.param(Reply.stream([ROLE, BROKEN]), 502, "malformed answer", id="broken_frame_before_text_case"),
]
MID_STREAM = [
    pytest.param(Reply.stream([ROLE, HI], drop=True), "upstream_unreachable", id="dropped_mid_stream_case"),
    pytest.param(Reply.stream([ROLE, HI, BROKEN, event(content="never")]), "malformed_upstream_response",
                 id="broken_frame_mid_stream_case"),
    pytest.param(Reply.stream([ROLE, HI, b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n']),
                 None, id="error_event_mid_stream_case"),
    pytest.param(Reply.stream([ROLE, HI], stall=True), "timeout", id="hang_mid_stream_case"),
]


@pytest.fixture
def deployment(upstream_model) -> Any:
    return upstream_model(timeout=1, input_cost_per_token=Decimal(0), output_cost_per_token=PRICE)


def post(gateway: GatewayProcess, request_id: str, **body: Any) -> httpx.Response:
    headers = {"Authorization": "Bearer sk-test-master-0123456789", "x-request-id": request_id}
    return httpx.post(f"{gateway.url}/v1/chat/completions", headers=headers, timeout=30,
                      json={"model": "upstream-gpt", "messages": MSG, "max_tokens": 5, **body})


def fresh_id() -> str:
    """A request id of this test alone (a late flush from an earlier test cannot be mistaken for its rows)."""
    return f"req-{uuid.uuid4().hex}"


def assert_openai_error(body: Any, status: int) -> dict[str, Any]:
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def assert_still_serving(gateway: GatewayProcess, upstream: OpenAIUpstream, *, stream: bool) -> None:
    """The next call is answered in full and billed once, at its price."""
    before, rid = len(upstream.requests), fresh_id()
    if stream:
        read = read_stream(gateway.url, request_id=rid, max_tokens=5)
        assert (read.status, read.done, read.content) == (200, True, "This is a mock response")
    else:
        response = post(gateway, rid)
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == "This is a mock response"
    assert len(upstream.requests) == before + 1
    [row] = wait_for_spend_rows(1, request_id=rid)
    assert (row.status, row.completion_tokens, row.cost) == ("success", 5, 5 * PRICE)


def assert_rows_match(request_id: str, upstream: OpenAIUpstream, *, sent_before: int = 0) -> list[Any]:
    """One spend row per attempt that reached the upstream, each priced from the tokens it billed."""
    sent = len(upstream.requests) - sent_before
    rows = wait_for_spend_rows(sent, request_id=request_id)
    assert len(rows) == sent, [(r.attempt, r.status) for r in rows]
    assert [r.attempt for r in rows] == list(range(1, sent + 1))
    assert all(r.cost == r.completion_tokens * PRICE for r in rows)
    return rows


@pytest.mark.parametrize(("reply", "status", "message"), FAULTS)
def test_a_failed_call_is_a_clean_error_and_billed_nothing(deployment, upstream: OpenAIUpstream,
                                                           gateway: GatewayProcess, reply: Reply, status: int,
                                                           message: str) -> None:
    upstream.reply_with(reply)
    rid = fresh_id()
    response = post(gateway, rid)
    assert response.status_code == status, response.text
    assert message in assert_openai_error(response.json(), status)["message"]
    if status == 429:
        assert response.headers["retry-after"] == "7"
    rows = assert_rows_match(rid, upstream)
    assert [(r.status, r.cost) for r in rows] == [("failure", 0)]
    assert_still_serving(gateway, upstream, stream=False)


@pytest.mark.parametrize(("reply", "status", "message"), STREAM_FAULTS)
def test_a_stream_failing_before_its_first_token_is_a_clean_error(deployment, upstream: OpenAIUpstream,
                                                                  gateway: GatewayProcess, reply: Reply,
                                                                  status: int, message: str) -> None:
    upstream.reply_with(reply)
    rid = fresh_id()
    read = read_stream(gateway.url, request_id=rid, max_tokens=5)
    assert read.status == status, read.text
    assert message in assert_openai_error(jsonutil.loads(read.text), status)["message"]
    rows = assert_rows_match(rid, upstream)
    assert [(r.status, r.cost) for r in rows] == [("failure", 0)]
    assert_still_serving(gateway, upstream, stream=True)


@pytest.mark.parametrize(("reply", "code"), MID_STREAM)
def test_a_stream_failing_mid_way_ends_with_an_error_event(deployment, upstream: OpenAIUpstream,
                                                           gateway: GatewayProcess, reply: Reply,
                                                           code: str | None) -> None:
    upstream.reply_with(reply)
    rid = fresh_id()
    read = read_stream(gateway.url, request_id=rid, max_tokens=5)
    assert (read.status, read.content, read.done) == (200, "Hi there", False)
    error = assert_openai_error(read.events[-1], 200)
    assert code is None or error["code"] == code
    [row] = assert_rows_match(rid, upstream)
    assert row.status == "failure" and row.completion_tokens > 0  # the text sent is billed, as generated
    if reply.stall:  # the gateway gave up on the silent upstream and closed its connection
        assert upstream.hangup_event.wait(timeout=15) and upstream.hangups == 1
    assert_still_serving(gateway, upstream, stream=True)


def test_a_429_with_retry_after_is_waited_out_and_retried(deployment, upstream: OpenAIUpstream,
                                                          gateway: GatewayProcess) -> None:
    upstream.reply_with(Reply.json(429, {"error": {"message": "slow down", "type": "rate_limit_error"}},
                                   headers={"retry-after": "1"}))
    rid = fresh_id()
    response = post(gateway, rid, num_retries=1)
    assert response.status_code == 200, response.text
    rows = assert_rows_match(rid, upstream)
    assert [(r.status, r.cost) for r in rows] == [("failure", 0), ("success", 5 * PRICE)]
