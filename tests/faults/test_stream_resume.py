"""Streams that fail over through a real gateway process: before the first token unseen, after it by resuming
on another deployment or a fallback (`stream_resume`), with the spend of every attempt that reached a provider."""
from __future__ import annotations

import uuid
from decimal import Decimal

from apps.routing.stream_resume import RESUME_INSTRUCTION
from tests.conftest import GatewayProcess
from tests.e2e.test_routing import pair, router
from tests.faults.sse import MSG, answer, event, read_stream
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

REQ_RESUMED, REQ_CUT, REQ_EARLY, REQ_FALLBACK, REQ_NOWHERE = (f"req-{uuid.uuid4().hex}" for _ in range(5))
# `first` says "The answer is", then its connection is cut.
CUT = Reply.stream([event(role="assistant", content=""), event(content="The answer "), event(content="is")],
                   drop=True)
REST = Reply.stream(answer([" 42", "."], id="up-2", model="second", usage=(30, 2)))


def rows_of(request_id: str, count: int) -> list:
    rows = wait_for_spend_rows(count, request_id=request_id)
    assert len(rows) == count, [(r.attempt, r.status) for r in rows]
    return rows


def test_a_cut_stream_resumes_on_the_next_deployment(upstream_model, upstream: OpenAIUpstream,
                                                     gateway: GatewayProcess) -> None:
    pair(upstream_model)
    router(stream_resume=True, allowed_fails=100)
    upstream.always_for("first", CUT)
    upstream.always_for("second", REST)
    read = read_stream(gateway.url, request_id=REQ_RESUMED, stream_options={"include_usage": True})
    assert (read.status, read.content, read.done) == (200, "The answer is 42.", True)
    assert {(e["id"], e["model"], e["created"]) for e in read.events} == {("up-1", "first", 1700000000)}
    assert [e for e in read.events if (e["choices"] or [{}])[0].get("delta", {}).get("role")] == read.events[:1]
    assert upstream.models_called() == ["first", "second"]
    assert upstream.requests[1].json()["messages"] == [*MSG, {"role": "assistant", "content": "The answer is"},
                                                       {"role": "user", "content": RESUME_INSTRUCTION}]
    cut, rest = rows_of(REQ_RESUMED, 2)
    assert (cut.status, cut.error_type, rest.status) == ("failure", "upstream_unreachable", "success")
    assert cut.completion_tokens > 0 and cut.cost == (cut.prompt_tokens + cut.completion_tokens) * Decimal("1e-6")
    assert (rest.prompt_tokens, rest.completion_tokens, rest.cost) == (30, 2, 32 * Decimal("1e-5"))
    [usage] = [e["usage"] for e in read.events if e.get("usage")]  # one final usage: every attempt billed
    assert usage == {"prompt_tokens": cut.prompt_tokens + 30, "completion_tokens": cut.completion_tokens + 2,
                     "total_tokens": cut.prompt_tokens + cut.completion_tokens + 32}


def test_without_stream_resume_a_cut_stream_ends_with_an_error_event(upstream_model, upstream: OpenAIUpstream,
                                                                     gateway: GatewayProcess) -> None:
    pair(upstream_model)
    router(allowed_fails=100)
    upstream.always_for("first", CUT)
    read = read_stream(gateway.url, request_id=REQ_CUT)
    assert (read.status, read.content, read.done) == (200, "The answer is", False)
    assert read.events[-1]["error"]["code"] == "upstream_unreachable"
    assert upstream.models_called() == ["first"]
    [cut] = rows_of(REQ_CUT, 1)
    assert cut.status == "failure" and cut.completion_tokens > 0 and cut.cost > 0


def test_a_stream_failing_before_its_first_token_fails_over_unseen(upstream_model, upstream: OpenAIUpstream,
                                                                   gateway: GatewayProcess) -> None:
    pair(upstream_model)
    router(allowed_fails=100)
    upstream.always_for("first", Reply.stream([event(role="assistant", content="")], drop=True))
    upstream.always_for("second", REST)
    read = read_stream(gateway.url, request_id=REQ_EARLY)
    assert (read.status, read.content, read.done) == (200, " 42.", True)
    assert {e["model"] for e in read.events} == {"second"}
    failed, served = rows_of(REQ_EARLY, 2)
    assert (failed.status, failed.cost, served.status, served.cost) == ("failure", 0, "success", 32 * Decimal("1e-5"))


def test_a_cut_stream_resumes_on_a_fallback_when_asked_per_request(upstream_model, upstream: OpenAIUpstream,
                                                                   gateway: GatewayProcess) -> None:
    upstream_model(provider_model="first")
    upstream_model("backup", provider_model="second")
    router(fallbacks=[{"upstream-gpt": ["backup"]}])
    upstream.always_for("first", CUT)
    upstream.always_for("second", REST)
    read = read_stream(gateway.url, request_id=REQ_FALLBACK, stream_resume=True)
    assert (read.status, read.content, read.done) == (200, "The answer is 42.", True)
    assert {e["model"] for e in read.events} == {"first"}
    assert "stream_resume" not in upstream.requests[0].json()
    assert [r.status for r in rows_of(REQ_FALLBACK, 2)] == ["failure", "success"]


def test_a_resume_with_nowhere_to_go_ends_with_the_cut(upstream_model, upstream: OpenAIUpstream,
                                                       gateway: GatewayProcess) -> None:
    upstream_model(provider_model="first")
    router(stream_resume=True)
    upstream.always_for("first", CUT)
    read = read_stream(gateway.url, request_id=REQ_NOWHERE)
    assert (read.content, read.done, read.events[-1]["error"]["code"]) == ("The answer is", False,
                                                                         "upstream_unreachable")
    assert upstream.models_called() == ["first"]
    [cut] = rows_of(REQ_NOWHERE, 1)
    assert cut.status == "failure" and cut.completion_tokens > 0
