"""/v1/responses on the metered path: spend rows, budgets, model permissions, hang-ups, and who may read a stored
response (its key, its key's team; nobody else)."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.teams import services
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, client, make_key, wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream, paced
from tests.upstreams.openai_responses import API_KEY, ResponsesTwin


def create(http: httpx.Client, model: str = "priced", **body: Any) -> httpx.Response:
    return http.post("/v1/responses", json={"model": model, "input": "hello", "max_output_tokens": 5, **body})


@pytest.fixture
def twin(transactional_db: None) -> Iterator[ResponsesTwin]:
    """`resp-gpt`: an OpenAI deployment on a Responses twin, priced per token."""
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment

    with ResponsesTwin() as server:
        Deployment.objects.create(model_name="resp-gpt", provider="openai", provider_model="gpt-4.1",
                                  api_base=server.api_base, api_key_encrypted=encrypt(API_KEY), timeout=10,
                                  input_cost_per_token=Decimal("0.0001"), output_cost_per_token=Decimal("0.001"))
        yield server
    assert server.failures == []


def test_a_call_is_logged_as_aresponses_with_its_cost(cast: Cast, priced: Any, gateway: GatewayProcess) -> None:
    priced()
    with client(gateway, cast.bob.secret) as http:
        usage = create(http).json()["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (4, 5)
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.call_type, row.model_alias, row.status) == ("aresponses", "priced", "success")
    assert (row.prompt_tokens, row.completion_tokens, row.cost) == (4, 5, Decimal("0.005"))


@pytest.mark.parametrize("stream", [pytest.param(False, id="whole_case"), pytest.param(True, id="streamed_case")])
def test_passthrough_is_billed_from_the_providers_usage(cast: Cast, twin: ResponsesTwin, gateway: GatewayProcess,
                                                        stream: bool) -> None:
    with client(gateway, cast.bob.secret) as http:
        answer = create(http, "resp-gpt", input="one two three", stream=stream)
    assert answer.status_code == 200
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.call_type, row.provider, row.prompt_tokens, row.completion_tokens) == ("aresponses", "openai", 3, 6)
    assert row.cost == Decimal("0.0063")  # 3 x 0.0001 + 6 x 0.001


def test_budget_refusal_is_openai_shaped(cast: Cast, priced: Any, gateway: GatewayProcess) -> None:
    priced()
    services.key_update(key=cast.bob.key, fields={"max_budget": Decimal("0.005")})  # type: ignore[arg-type]
    with client(gateway, cast.bob.secret) as http:
        assert create(http).status_code == 200
        refused = create(http)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == ("Budget has been exceeded! Key=bob-key Current cost: 0.005, "
                                                  "Max budget: 0.005")


def test_model_permissions_apply(cast: Cast, priced: Any, gateway: GatewayProcess) -> None:
    priced()
    priced("secret-model")
    _, secret = make_key(cast.bob.user, cast.team_a, allowed_models=["priced"])
    with client(gateway, secret) as http:
        refused = create(http, "secret-model")
        allowed = create(http)
    assert (refused.status_code, allowed.status_code) == (401, 200)
    assert "model=secret-model" in refused.json()["error"]["message"]


def test_a_stored_response_is_read_only_by_its_key_and_team(cast: Cast, priced: Any, gateway: GatewayProcess) -> None:
    priced()
    with client(gateway, cast.bob.secret) as bob:
        made = create(bob).json()
    paths = [("GET", f"/v1/responses/{made['id']}"), ("GET", f"/v1/responses/{made['id']}/input_items")]
    with client(gateway, cast.mallory.secret) as mallory:
        assert [mallory.request(method, path).status_code for method, path in paths] == [404, 404]
        assert mallory.delete(f"/v1/responses/{made['id']}").status_code == 404
        continued = create(mallory, previous_response_id=made["id"])
        assert (continued.status_code, continued.json()["error"]["code"]) == (404, "previous_response_not_found")
    with client(gateway, cast.alice.secret) as alice:  # bob's team mate
        assert alice.get(f"/v1/responses/{made['id']}").json() == made
        assert create(alice, previous_response_id=made["id"]).status_code == 200
    with client(gateway, cast.bob.secret) as bob:
        assert bob.delete(f"/v1/responses/{made['id']}").json() == {"id": made["id"], "object": "response",
                                                                     "deleted": True}
        assert bob.get(f"/v1/responses/{made['id']}").status_code == 404


def test_hang_up_cancels_upstream_and_bills_what_was_generated(cast: Cast, upstream_model: Any,
                                                               upstream: OpenAIUpstream,
                                                               gateway: GatewayProcess) -> None:
    upstream_model(provider="hosted_vllm", output_cost_per_token=Decimal("0.001"), input_cost_per_token=Decimal(0))
    upstream.reply_with(paced(0.3))
    with client(gateway, cast.bob.secret) as http:
        with http.stream("POST", "/v1/responses", json={"model": "upstream-gpt", "stream": True,
                                                        "input": "tell me a long story"}) as stream:
            lines = stream.iter_lines()
            got = [next(lines) for _ in range(15)]
    assert "event: response.output_text.delta" in got
    assert upstream.hangup_event.wait(10)
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.status, row.error_type, row.call_type) == ("cancelled", "client_disconnected", "aresponses")
    assert 0 < row.completion_tokens < 12 and row.cost == row.completion_tokens * Decimal("0.001")


def test_hang_up_on_a_passthrough_stream_closes_the_upstream(cast: Cast, twin: ResponsesTwin,
                                                             gateway: GatewayProcess) -> None:
    twin.pace = 0.3
    with client(gateway, cast.bob.secret) as http:
        with http.stream("POST", "/v1/responses", json={"model": "resp-gpt", "stream": True,
                                                        "input": "a b c d e f g h i j k l m n o p"}) as stream:
            lines = stream.iter_lines()
            got = [next(lines) for _ in range(16)]
    assert "event: response.output_text.delta" in got
    assert twin.hangup_event.wait(10)
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.status, row.error_type, row.provider) == ("cancelled", "client_disconnected", "openai")


def test_the_keys_rate_limit_applies(cast: Cast, priced: Any, gateway: GatewayProcess) -> None:
    priced()
    _, secret = make_key(cast.bob.user, cast.team_a, rpm_limit=1)
    with client(gateway, secret) as http:
        first, second = create(http), create(http)
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.headers["Retry-After"]
    assert set(second.json()["error"]) == {"message", "type", "param", "code"}
