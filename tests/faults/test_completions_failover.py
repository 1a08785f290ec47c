"""`/v1/completions` streams through a real gateway process and the `openai` client: one that fails after its 200
but before its first token (sent natively, or over chat) moves to the next deployment unseen, and the failing
deployment counts a failure (here: cooled down, so the next call goes straight to the other)."""
from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.e2e.test_routing import pair, router
from tests.faults.early import CHAT_FAULTS, COMPLETION_FAULTS, fresh_id, pair_on, served_by_second
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply
from tests.upstreams.text_completion_openai import PIECES, completion_event

USAGE = {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}
HEALTHY = Reply.stream([*(completion_event(piece, None) for piece in PIECES), completion_event("", "stop"),
                        completion_event("", None, USAGE), b"data: [DONE]\n\n"])
MOCK_TEXT = "This is a mock response to: hello"


def streamed(sdk: openai.OpenAI, request_id: str) -> list[Any]:
    return list(sdk.completions.create(model="upstream-gpt", prompt="hello", max_tokens=5, stream=True,
                                       extra_headers={"x-request-id": request_id}))


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
