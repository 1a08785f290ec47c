"""/v1/messages on the metered path: spend rows, budgets, model permissions and hang-ups, as for chat."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.teams import services
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, client, make_key, wait_for_spend_rows
from tests.upstreams.anthropic import API_KEY, GATEWAY_MODEL, gateway_events, gateway_upstream, sse
from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.openai import OpenAIUpstream, paced
from tests.upstreams.recording import Recorded, RecordingServer, Reply

HELLO = [{"role": "user", "content": "hello"}]


def create(http: httpx.Client, model: str = "priced", **body: Any) -> httpx.Response:
    return http.post("/v1/messages", json={"model": model, "max_tokens": 5, "messages": HELLO, **body})


def test_a_call_is_logged_as_anthropic_messages_with_its_cost(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    with client(gateway, cast.bob.secret) as http:
        assert create(http).json()["usage"] == {"input_tokens": 4, "output_tokens": 5}
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.call_type, row.model_alias, row.status) == ("anthropic_messages", "priced", "success")
    assert (row.prompt_tokens, row.completion_tokens, row.cost) == (4, 5, Decimal("0.005"))


def test_budget_refusal_is_anthropic_shaped(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    services.key_update(key=cast.bob.key, fields={"max_budget": Decimal("0.005")})  # type: ignore[arg-type]
    with client(gateway, cast.bob.secret) as http:
        assert create(http).status_code == 200
        refused = create(http)
    assert refused.status_code == 400
    assert refused.json()["error"] == {"type": "invalid_request_error", "message":
                                       "Budget has been exceeded! Key=bob-key Current cost: 0.005, Max budget: 0.005"}


def test_model_permissions_apply(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    priced("secret-model")
    _, secret = make_key(cast.bob.user, cast.team_a, allowed_models=["priced"])
    with client(gateway, secret) as http:
        refused = create(http, "secret-model")
        counted = http.post("/v1/messages/count_tokens", json={"model": "secret-model", "messages": HELLO})
    assert (refused.status_code, counted.status_code) == (401, 401)
    assert refused.json()["error"]["type"] == "authentication_error"
    assert "model=secret-model" in refused.json()["error"]["message"]


def test_key_aliases_route_messages_and_count_tokens(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, secret = make_key(cast.bob.user, cast.team_a, aliases={"claude-alias": "priced"}, allowed_models=["priced"])
    with client(gateway, secret) as http:
        answered = create(http, "claude-alias")
        counted = http.post("/v1/messages/count_tokens", json={"model": "claude-alias", "messages": HELLO})
        direct = http.post("/v1/messages/count_tokens", json={"model": "priced", "messages": HELLO})
        unknown = create(http, "claude-other")
    assert (answered.status_code, answered.headers["x-litellm-model-group"]) == (200, "priced")
    assert (counted.status_code, counted.json()) == (200, direct.json())
    assert unknown.status_code == 404  # no such group, and no alias for it
    [row] = wait_for_spend_rows(1, key_id=key.pk)
    assert (row.call_type, row.model_alias, row.cost) == ("anthropic_messages", "priced", Decimal("0.005"))


def test_translated_stream_is_charged_from_final_usage(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    with client(gateway, cast.bob.secret) as http:
        with http.stream("POST", "/v1/messages", json={"model": "priced", "max_tokens": 50, "stream": True,
                                                       "messages": HELLO}) as stream:
            body = stream.read()
    assert body.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert b'"usage":{"input_tokens":4,"output_tokens":7}' in body
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.call_type, row.completion_tokens, row.cost, row.status) == ("anthropic_messages", 7,
                                                                            Decimal("0.007"), "success")


def test_hang_up_cancels_upstream_and_bills_what_was_generated(cast: Cast, upstream_model, upstream: OpenAIUpstream,
                                                               gateway: GatewayProcess) -> None:
    upstream_model(output_cost_per_token=Decimal("0.001"), input_cost_per_token=Decimal(0))
    upstream.reply_with(paced(0.3))
    with client(gateway, cast.bob.secret) as http:
        with http.stream("POST", "/v1/messages", json={
                "model": "upstream-gpt", "max_tokens": 50, "stream": True,
                "messages": [{"role": "user", "content": "tell me a long story"}]}) as stream:
            lines = stream.iter_lines()
            got = [next(lines) for _ in range(12)]
    assert "event: content_block_delta" in got
    assert upstream.hangup_event.wait(10)
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.status, row.error_type) == ("cancelled", "client_disconnected")
    assert 0 < row.completion_tokens < 12 and row.cost == row.completion_tokens * Decimal("0.001")


@pytest.fixture
def anthropic_twin(transactional_db: None) -> Iterator[GatewayUpstream]:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment

    with gateway_upstream() as upstream:
        Deployment.objects.create(model_name="claude", provider="anthropic", provider_model=GATEWAY_MODEL,
                                  api_base=upstream.api_base, api_key_encrypted=encrypt(API_KEY), timeout=10,
                                  input_cost_per_token=Decimal("0.0001"), output_cost_per_token=Decimal("0.001"))
        yield upstream


@pytest.mark.parametrize("stream", [pytest.param(False, id="whole_case"), pytest.param(True, id="streamed_case")])
def test_passthrough_is_metered_from_anthropic_usage(cast: Cast, anthropic_twin: GatewayUpstream,
                                                     gateway: GatewayProcess, stream: bool) -> None:
    with client(gateway, cast.bob.secret) as http:
        answer = create(http, "claude", stream=stream)
    assert answer.status_code == 200
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.call_type, row.provider, row.prompt_tokens, row.completion_tokens) == (
        "anthropic_messages", "anthropic", 12, 6)
    assert row.cost == Decimal("0.0072")  # 12 x 0.0001 + 6 x 0.001


def test_hang_up_on_a_passthrough_stream_closes_the_upstream(cast: Cast, gateway: GatewayProcess,
                                                             transactional_db: None) -> None:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment

    def slow(seen: Recorded) -> Reply:
        return Reply.stream(sse(gateway_events(tools=False)) * 20, delay=0.2)

    with RecordingServer(slow) as twin:
        Deployment.objects.create(model_name="claude-slow", provider="anthropic", provider_model=GATEWAY_MODEL,
                                  api_base=twin.url, api_key_encrypted=encrypt(API_KEY), timeout=10,
                                  output_cost_per_token=Decimal("0.001"))
        with client(gateway, cast.bob.secret) as http:
            with http.stream("POST", "/v1/messages", json={"model": "claude-slow", "max_tokens": 5, "stream": True,
                                                           "messages": HELLO}) as stream:
                lines = stream.iter_lines()
                got = [next(lines) for _ in range(10)]
        assert "event: content_block_delta" in got
        assert twin.hangup_event.wait(10)
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.status, row.error_type, row.provider) == ("cancelled", "client_disconnected", "anthropic")
    assert twin.pieces_sent < 140
