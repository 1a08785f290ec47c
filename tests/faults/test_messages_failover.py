"""`/v1/messages` streams through a real gateway process and the `anthropic` client: one that fails after its 200
but before its first token (translated over chat, or an Anthropic deployment passed through) moves to the next
deployment or fallback unseen; with `stream_resume`, a translated stream cut later continues on another one."""
from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.e2e.test_routing import pair, router
from tests.faults.early import (ANTHROPIC_CUTS, ANTHROPIC_FAULTS, CHAT_FAULTS, cut_then_resumed, fresh_id,
                                  resumed_over_chat, served_by_second)
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams.anthropic import API_KEY, GATEWAY_MODEL, check_messages_request, gateway_events, sse
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

HELLO = [{"role": "user", "content": "hello"}]
MOCK_TEXT = "This is a mock response to: hello"


class AnthropicTwins:
    """Two Anthropic twins, `broken` answering `fault` to streams and `healthy` the twin's usual events."""

    def __init__(self) -> None:
        self.fault: Reply | None = None
        self.broken = RecordingServer(self.answer_broken)
        self.healthy = RecordingServer(self.answer_healthy)

    def answer_broken(self, seen: Recorded) -> Reply:
        check_messages_request(seen)
        assert self.fault is not None
        return self.fault

    def answer_healthy(self, seen: Recorded) -> Reply:
        check_messages_request(seen)
        return Reply.stream(sse(gateway_events(tools=False)))


@pytest.fixture
def twins(transactional_db: None) -> Iterator[AnthropicTwins]:
    pair = AnthropicTwins()
    with pair.broken, pair.healthy:
        yield pair


def deploy_anthropic(group: str, url: str, cost: str) -> Any:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment

    return Deployment.objects.create(model_name=group, provider="anthropic", provider_model=GATEWAY_MODEL,
                                     api_base=url, api_key_encrypted=encrypt(API_KEY), timeout=10,
                                     input_cost_per_token=Decimal(cost), output_cost_per_token=Decimal(cost))


@pytest.fixture
def claude(gateway: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=MASTER_KEY, base_url=gateway.url, max_retries=0, timeout=30)


def streamed(claude: anthropic.Anthropic, request_id: str, model: str = "upstream-gpt",
             **extra: Any) -> tuple[list[str], anthropic.types.Message]:
    """The event types the client read, and the message they made."""
    with claude.messages.stream(model=model, max_tokens=20, messages=HELLO,  # type: ignore[arg-type]
                                extra_headers={"x-request-id": request_id}, extra_body=extra or None) as stream:
        kinds = [event.type for event in stream]
        return kinds, stream.get_final_message()


def assert_one_message(kinds: list[str]) -> None:
    """One well-formed Messages stream: one start, one stop, no error in between."""
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    assert kinds.count("message_start") == kinds.count("message_stop") == 1 and "error" not in kinds, kinds


@pytest.mark.parametrize(("fault", "error_type"), CHAT_FAULTS)
def test_a_translated_stream_failing_before_its_first_token_fails_over_unseen(
        upstream_model, upstream: OpenAIUpstream, claude: anthropic.Anthropic, fault: Reply,
        error_type: str | None) -> None:
    first, second = pair(upstream_model)
    router(allowed_fails=1, cooldown_time=60)
    upstream.always_for("first", fault)
    rid = fresh_id()
    kinds, message = streamed(claude, rid)
    assert_one_message(kinds)
    assert (message.content[0].text, message.stop_reason) == (MOCK_TEXT, "end_turn")  # type: ignore[union-attr]
    served = served_by_second(rid, first=first, second=second, error_type=error_type)
    assert served.call_type == "anthropic_messages"
    streamed(claude, fresh_id())  # `first` is cooling down: not tried again
    assert upstream.models_called() == ["first", "second", "second"]


@pytest.mark.parametrize(("fault", "error_type"), ANTHROPIC_FAULTS)
def test_a_passed_through_stream_failing_before_its_first_token_fails_over_unseen(
        twins: AnthropicTwins, gateway: GatewayProcess, claude: anthropic.Anthropic, fault: Reply,
        error_type: str | None) -> None:
    first = deploy_anthropic("claude", twins.broken.url, "0.000001")
    second = deploy_anthropic("claude", twins.healthy.url, "0.00001")
    router(allowed_fails=1, cooldown_time=60)
    twins.fault = fault
    rid = fresh_id()
    with httpx.stream("POST", f"{gateway.url}/v1/messages", timeout=30,
                      headers={"x-api-key": MASTER_KEY, "x-request-id": rid},
                      json={"model": "claude", "max_tokens": 20, "messages": HELLO, "stream": True}) as response:
        received = b"".join(response.iter_raw())
    assert (response.status_code, received) == (200, b"".join(sse(gateway_events(tools=False))))  # B's bytes alone
    served = served_by_second(rid, first=first, second=second, error_type=error_type)
    assert (served.prompt_tokens, served.completion_tokens) == (12, 6)
    kinds, message = streamed(claude, fresh_id(), model="claude")  # `first` is cooling down: not tried again
    assert_one_message(kinds)
    assert message.content[0].text == "Hello from Anthropic."  # type: ignore[union-attr]
    assert (len(twins.broken.requests), len(twins.healthy.requests)) == (1, 2)


def test_a_passed_through_stream_failing_before_its_first_token_falls_back_to_another_provider(
        twins: AnthropicTwins, upstream_model, upstream: OpenAIUpstream, claude: anthropic.Anthropic) -> None:
    deploy_anthropic("claude", twins.broken.url, "0.000001")
    upstream_model("spare")
    router(num_retries=0, fallbacks=[{"claude": ["spare"]}])
    twins.fault = ANTHROPIC_FAULTS[2].values[0]  # overloaded_error before any text
    kinds, message = streamed(claude, fresh_id(), model="claude")
    assert_one_message(kinds)
    assert message.content[0].text == MOCK_TEXT  # type: ignore[union-attr]
    assert (len(twins.broken.requests), upstream.models_called()) == (1, ["gpt-4o-2024-08-06"])


def test_a_stream_failing_everywhere_before_its_first_token_is_an_anthropic_error(
        twins: AnthropicTwins, claude: anthropic.Anthropic) -> None:
    deploy_anthropic("claude", twins.broken.url, "0.000001")
    router(num_retries=0)
    twins.fault = ANTHROPIC_FAULTS[2].values[0]
    with pytest.raises(anthropic.APIStatusError) as failed:
        streamed(claude, fresh_id(), model="claude")
    assert failed.value.status_code == 503
    assert failed.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                                 "request_id": failed.value.response.headers["request-id"]}


def test_a_cut_translated_stream_resumes_on_the_next_deployment(upstream_model, upstream: OpenAIUpstream,
                                                                claude: anthropic.Anthropic) -> None:
    cut_then_resumed(upstream_model, upstream)
    rid = fresh_id()
    kinds, message = streamed(claude, rid)
    assert_one_message(kinds)
    assert (message.content[0].text, message.stop_reason) == ("The answer is 42.", "end_turn")  # type: ignore[union-attr]
    resumed_over_chat(upstream, rid, message.usage.output_tokens)


@pytest.mark.parametrize(("cut", "code"), ANTHROPIC_CUTS)
def test_a_passed_through_stream_cut_after_its_first_token_ends_with_an_anthropic_error_event(
        twins: AnthropicTwins, gateway: GatewayProcess, cut: Reply, code: str) -> None:
    deploy_anthropic("claude", twins.broken.url, "0.000001")
    deploy_anthropic("claude", twins.healthy.url, "0.00001")
    router(stream_resume=True, allowed_fails=100)  # a passed-through stream is not resumed
    twins.fault = cut
    rid = fresh_id()
    response = httpx.post(f"{gateway.url}/v1/messages", headers={"x-api-key": MASTER_KEY, "x-request-id": rid},
                          json={"model": "claude", "max_tokens": 20, "messages": HELLO, "stream": True}, timeout=30)
    events = [part for part in response.text.split("\n\n") if part]
    assert response.status_code == 200 and '"text":"Hello"' in response.text.replace(" ", "")
    assert events[-1].startswith("event: error\ndata: ") and "message_stop" not in response.text
    assert json.loads(events[-1].split("data: ", 1)[1])["error"]["type"] == "api_error"
    assert (len(twins.broken.requests), len(twins.healthy.requests)) == (1, 0)
    [row] = wait_for_spend_rows(1, request_id=rid)
    assert (row.status, row.error_type) == ("failure", code) and row.completion_tokens > 0
