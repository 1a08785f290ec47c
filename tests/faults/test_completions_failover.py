"""`/v1/completions` streams through a real gateway process and the `openai` client: one that fails after its 200
but before its first token (sent natively, or over chat) moves to the next deployment unseen, and the failing
deployment counts a failure (here: cooled down, so the next call goes straight to the other); with
`stream_resume`, one cut later continues on another deployment (natively: its prompt followed by the text so far)."""
from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.e2e.test_routing import pair, router
from tests.faults.early import CHAT_FAULTS, COMPLETION_FAULTS, cut_then_resumed, fresh_id, pair_on, served_by_second
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply
from tests.upstreams.text_completion_openai import PIECES, completion_event

USAGE = {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}
HEALTHY = Reply.stream([*(completion_event(piece, None) for piece in PIECES), completion_event("", "stop"),
                        completion_event("", None, USAGE), b"data: [DONE]\n\n"])
MOCK_TEXT = "This is a mock response"  # five words: max_tokens=5


def streamed(sdk: openai.OpenAI, request_id: str, **extra: Any) -> list[Any]:
    return list(sdk.completions.create(model="upstream-gpt", prompt="hello", max_tokens=5, stream=True,
                                       extra_headers={"x-request-id": request_id}, extra_body=extra or None))


def text_event(text: str, *, id: str = "cmpl-1", usage: dict[str, int] | None = None) -> bytes:
    choices = [] if usage else [{"text": text, "index": 0, "logprobs": None, "finish_reason": None}]
    body = {"id": id, "object": "text_completion", "created": 1700000000, "model": "first", "choices": choices,
            "usage": usage}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


@pytest.mark.parametrize(("fault", "error_type"), COMPLETION_FAULTS)
def test_a_native_stream_failing_before_its_first_token_fails_over_unseen(
        upstream_model, upstream: OpenAIUpstream, sdk: openai.OpenAI, fault: Reply, error_type: str | None) -> None:
    first, second = pair(upstream_model)
    router(allowed_fails=1, cooldown_time=60)
    upstream.always_for("first", fault)
    upstream.always_for("second", HEALTHY)
    rid = fresh_id()
    chunks = streamed(sdk, rid)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "".join(PIECES)
    assert {c.id for c in chunks} == {"cmpl-wire"}
    served = served_by_second(rid, first=first, second=second, error_type=error_type)
    assert (served.call_type, served.completion_tokens) == ("text_completion", 3)
    streamed(sdk, fresh_id())  # `first` is cooling down: not tried again
    assert upstream.models_called() == ["first", "second", "second"]


@pytest.mark.parametrize(("fault", "error_type"), CHAT_FAULTS)
def test_a_stream_over_chat_failing_before_its_first_token_fails_over_unseen(
        upstream_model, upstream: OpenAIUpstream, sdk: openai.OpenAI, fault: Reply, error_type: str | None) -> None:
    first, second = pair_on(upstream_model, "groq")  # groq has no legacy endpoint: served over chat
    router(allowed_fails=100)
    upstream.always_for("first", fault)
    rid = fresh_id()
    chunks = streamed(sdk, rid)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == MOCK_TEXT
    assert [r.path for r in upstream.requests] == ["/v1/chat/completions"] * 2
    served_by_second(rid, first=first, second=second, error_type=error_type)


def test_a_stream_failing_everywhere_before_its_first_token_is_an_openai_error(
        upstream_model, upstream: OpenAIUpstream, sdk: openai.OpenAI) -> None:
    pair(upstream_model)
    router(allowed_fails=100)
    dropped = COMPLETION_FAULTS[0].values[0]
    upstream.always_for("first", dropped)
    upstream.always_for("second", dropped)
    with pytest.raises(openai.APIStatusError) as failed:
        streamed(sdk, fresh_id())
    assert failed.value.status_code == 502
    assert failed.value.body["code"] == "upstream_unreachable"  # type: ignore[index]
    assert upstream.models_called() == ["first", "second"]


def test_a_cut_native_stream_resumes_with_its_prompt_continued(upstream_model, upstream: OpenAIUpstream,
                                                               sdk: openai.OpenAI) -> None:
    pair(upstream_model)
    router(allowed_fails=100)
    upstream.always_for("first", Reply.stream([text_event(" The answer"), text_event(" is")], drop=True))
    upstream.always_for("second", Reply.stream([text_event(" 42.", id="cmpl-2"), text_event("", id="cmpl-2", usage={
        "prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}), b"data: [DONE]\n\n"]))
    rid = fresh_id()
    chunks = streamed(sdk, rid, stream_resume=True, stream_options={"include_usage": True})
    assert "".join(c.choices[0].text for c in chunks if c.choices) == " The answer is 42."
    assert {c.id for c in chunks} == {"cmpl-1"}  # one stream: the first attempt's id throughout
    assert upstream.models_called() == ["first", "second"]
    assert upstream.requests[1].json()["prompt"] == "hello The answer is"
    assert "stream_resume" not in upstream.requests[0].json()
    cut, rest = wait_for_spend_rows(2, request_id=rid)
    assert (cut.status, cut.error_type, rest.status, rest.completion_tokens) == (
        "failure", "upstream_unreachable", "success", 2)
    [usage] = [c.usage for c in chunks if c.usage]
    assert usage.completion_tokens == cut.completion_tokens + 2


def test_a_cut_stream_over_chat_resumes_on_the_next_deployment(upstream_model, upstream: OpenAIUpstream,
                                                               sdk: openai.OpenAI) -> None:
    cut_then_resumed(upstream_model, upstream, "groq")
    chunks = streamed(sdk, fresh_id())
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "The answer is 42."
    assert {c.id for c in chunks} == {"up-1"}
    assert upstream.requests[1].json()["messages"][-2] == {"role": "assistant", "content": "The answer is"}


def test_a_cut_stream_of_a_token_prompt_is_not_resumed(upstream_model, upstream: OpenAIUpstream,
                                                       sdk: openai.OpenAI) -> None:
    pair(upstream_model)
    router(stream_resume=True, allowed_fails=100)
    upstream.always_for("first", Reply.stream([text_event(" The answer"), text_event(" is")], drop=True))
    text = ""
    with pytest.raises(openai.APIError, match="RemoteProtocolError"):
        for chunk in sdk.completions.create(model="upstream-gpt", prompt=[15339, 1917], max_tokens=5, stream=True):
            text += chunk.choices[0].text
    assert (text, upstream.models_called()) == (" The answer is", ["first"])  # no prompt text to continue
