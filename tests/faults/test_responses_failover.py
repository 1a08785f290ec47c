"""`/v1/responses` streams through a real gateway process and the `openai` client: one that fails after its 200
but before its first token (translated over chat, or an OpenAI deployment's own Responses stream passed through)
moves to the next deployment unseen; with `stream_resume`, a translated stream cut later continues on another."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest

from apps.providers.responses import ids
from tests.e2e.test_routing import router
from tests.faults.early import (CHAT_FAULTS, RESPONSES_CUTS, RESPONSES_FAULTS, cut_then_resumed, fresh_id, pair_on,
                                  resumed_over_chat, served_by_second)
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.openai_responses import ResponsesTwin
from tests.upstreams.recording import Reply

MOCK_TEXT = "This is a mock response to: hello"


@pytest.fixture
def twin() -> Iterator[ResponsesTwin]:
    with ResponsesTwin(api_key="sk-upstream-secret") as responses:
        yield responses


def streamed(sdk: openai.OpenAI, request_id: str, model: str = "upstream-gpt", **extra: Any) -> list[Any]:
    return list(sdk.responses.create(model=model, input="hello", stream=True, extra_body=extra or None,
                                     extra_headers={"x-request-id": request_id}))


def final_of(events: list[Any]) -> Any:
    """The stream's one final response, once it was a well-formed stream: one created, one completed, no error."""
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
    assert kinds.count("response.created") == 1 and "error" not in kinds and "response.failed" not in kinds, kinds
    return events[-1].response


@pytest.mark.parametrize(("fault", "error_type"), CHAT_FAULTS)
def test_a_translated_stream_failing_before_its_first_token_fails_over_unseen(
        upstream_model, upstream: OpenAIUpstream, sdk: openai.OpenAI, fault: Reply, error_type: str | None) -> None:
    first, second = pair_on(upstream_model, "hosted_vllm")  # vLLM has no Responses API: served over chat
    router(allowed_fails=1, cooldown_time=60)
    upstream.always_for("first", fault)
    rid = fresh_id()
    final = final_of(streamed(sdk, rid))
    assert final.output_text == MOCK_TEXT
    assert ids.decode(final.id).model_id == str(second.pk)  # type: ignore[union-attr]
    served = served_by_second(rid, first=first, second=second, error_type=error_type)
    assert served.call_type == "aresponses"
    streamed(sdk, fresh_id())  # `first` is cooling down: not tried again
    assert upstream.models_called() == ["first", "second", "second"]


@pytest.mark.parametrize(("fault", "error_type"), RESPONSES_FAULTS)
def test_a_passed_through_stream_failing_before_its_first_token_fails_over_unseen(
        upstream_model, upstream: OpenAIUpstream, twin: ResponsesTwin, sdk: openai.OpenAI, fault: Reply,
        error_type: str | None) -> None:
    first = upstream_model(provider_model="first", input_cost_per_token=Decimal("0.000001"),
                           output_cost_per_token=Decimal("0.000001"))
    second = upstream_model(provider_model="gpt-4.1", api_base=twin.api_base, input_cost_per_token=Decimal("0.00001"),
                            output_cost_per_token=Decimal("0.00001"))
    router(allowed_fails=1, cooldown_time=60)
    upstream.always_for("first", fault)
    rid = fresh_id()
    final = final_of(streamed(sdk, rid))
    assert final.output_text == "Responses twin heard: hello"
    assert ids.decode(final.id) == ids.DecodedId(provider="openai", model_id=str(second.pk),  # type: ignore[union-attr]
                                                 response_id="resp_twin1")
    assert sdk.responses.retrieve(final.id).output_text == "Responses twin heard: hello"  # stored, B's
    served = served_by_second(rid, first=first, second=second, error_type=error_type)
    assert (served.prompt_tokens, served.completion_tokens) == (1, 4)
    final_of(streamed(sdk, fresh_id()))  # `first` is cooling down: not tried again
    assert [r.path for r in upstream.requests] == ["/v1/responses"] and len(twin.requests) == 2  # GET: the store


def test_a_stream_failing_everywhere_before_its_first_token_is_an_openai_error(
        upstream_model, upstream: OpenAIUpstream, sdk: openai.OpenAI) -> None:
    upstream_model(provider_model="first")
    router(num_retries=0)
    upstream.always_for("first", RESPONSES_FAULTS[0].values[0])
    with pytest.raises(openai.APIStatusError) as failed:
        streamed(sdk, fresh_id())
    assert failed.value.status_code == 502
    assert failed.value.body["code"] == "upstream_unreachable"  # type: ignore[index]


def test_a_cut_translated_stream_resumes_on_the_next_deployment(upstream_model, upstream: OpenAIUpstream,
                                                                sdk: openai.OpenAI) -> None:
    cut_then_resumed(upstream_model, upstream, "hosted_vllm")
    rid = fresh_id()
    events = streamed(sdk, rid)
    final = final_of(events)
    assert final.output_text == "The answer is 42."
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "The answer is 42."
    resumed_over_chat(upstream, rid, final.usage.output_tokens)


@pytest.mark.parametrize(("cut", "code"), RESPONSES_CUTS)
def test_a_passed_through_stream_cut_after_its_first_token_ends_with_an_error_event(
        upstream_model, upstream: OpenAIUpstream, twin: ResponsesTwin, sdk: openai.OpenAI, cut: Reply,
        code: str) -> None:
    upstream_model(provider_model="first", input_cost_per_token=Decimal("0.000001"))
    upstream_model(provider_model="gpt-4.1", api_base=twin.api_base, input_cost_per_token=Decimal("0.00001"))
    router(stream_resume=True, allowed_fails=100)  # a passed-through stream is not resumed
    upstream.always_for("first", cut)
    rid = fresh_id()
    events = streamed(sdk, rid)
    assert [e.type for e in events] == ["response.created", "response.output_text.delta", "error"]
    assert (events[1].delta, events[-1].code) == ("Hello", code)
    assert (len(upstream.requests), len(twin.requests)) == (1, 0)
    [row] = wait_for_spend_rows(1, request_id=rid)
    assert (row.status, row.error_type) == ("failure", code) and row.completion_tokens > 0
