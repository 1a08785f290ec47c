"""`/v1/moderations` through the gateway process with the `openai` client: passed to OpenAI, free, still logged
and rate-limited."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from django.test import AsyncClient

from apps.core.secrets import encrypt
from apps.routing.models import Deployment, RouterSettings
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.querycount import count_queries
from tests.teams.conftest import client, make_key, wait_for_spend_rows
from tests.upstreams import cohere
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply


def deploy(name: str, provider: str, model: str, api_base: str, api_key: str) -> None:
    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    Deployment.objects.create(model_name=name, provider=provider, provider_model=model, api_base=api_base,
                              api_key_encrypted=encrypt(api_key), timeout=10)


@pytest.fixture
def moderators(transactional_db: None, upstream: OpenAIUpstream) -> Iterator[OpenAIUpstream]:
    """OpenAI's moderation model as `omni-moderation-latest`, and a Cohere chat model (no moderations) as `command`."""
    with cohere.CohereUpstream() as co:
        deploy("omni-moderation-latest", "openai", "omni-moderation-2024-09-26", upstream.api_base, "sk-mod")
        deploy("command", "cohere", "command-a-03-2025", co.url, cohere.API_KEY)
        yield upstream
        assert co.requests == []
    assert upstream.failures == []


def test_moderation_results_pass_through(moderators: OpenAIUpstream, sdk: openai.OpenAI) -> None:
    answer = sdk.moderations.create(model="omni-moderation-latest", input=["I will kill it", "hello"])
    assert [result.flagged for result in answer.results] == [True, False]
    assert (answer.id, answer.model) == ("modr-wire", "omni-moderation-2024-09-26")
    [seen] = moderators.requests
    assert (seen.path, seen.headers["authorization"]) == ("/v1/moderations", "Bearer sk-mod")
    assert seen.json() == {"model": "omni-moderation-2024-09-26", "input": ["I will kill it", "hello"]}


def test_a_body_without_model_goes_to_openais_default(moderators: OpenAIUpstream, sdk: openai.OpenAI) -> None:
    answer = sdk.moderations.create(input="hello")
    assert answer.results[0].flagged is False
    assert moderators.models_called() == ["omni-moderation-2024-09-26"]


def test_moderation_is_logged_at_cost_zero(moderators: OpenAIUpstream, http: httpx.Client) -> None:
    answer = http.post("/v1/moderations", json={"input": "hello"})
    assert answer.status_code == 200, answer.text
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.call_type, row.provider, row.model_alias, row.cost, row.status) == (
        "moderation", "openai", "omni-moderation-latest", Decimal(0), "success")


def test_key_rate_limit_applies(moderators: OpenAIUpstream, gateway: GatewayProcess) -> None:
    _, secret = make_key(None, None, rpm_limit=1)
    with client(gateway, secret) as caller:
        assert caller.post("/v1/moderations", json={"input": "hello"}).status_code == 200
        refused = caller.post("/v1/moderations", json={"input": "hello"})
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert len(moderators.requests) == 1


BAD_INPUT = [
    pytest.param({"model": "omni-moderation-latest"}, 400, "input", id="no_input_case"),
    pytest.param({"input": ""}, 400, "input", id="empty_input_case"),
    pytest.param({"input": [3]}, 400, "input", id="number_input_case"),
    pytest.param({"model": "nope", "input": "x"}, 404, "model", id="unknown_model_case"),
    pytest.param({"model": "command", "input": "x"}, 400, "model", id="provider_without_moderations_case"),
]


@pytest.mark.parametrize(("body", "status", "param"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_param(moderators: OpenAIUpstream, http: httpx.Client, body: dict[str, Any],
                                               status: int, param: str) -> None:
    answer = http.post("/v1/moderations", json=body)
    assert (answer.status_code, answer.json()["error"]["param"]) == (status, param), answer.text
    assert moderators.requests == []


async def test_warm_moderation_runs_no_queries(moderators: OpenAIUpstream) -> None:
    caller = AsyncClient()
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    assert (await caller.post("/v1/moderations", data={"input": "x"}, content_type="application/json",
                              headers=auth)).status_code == 200  # type: ignore[attr-defined]
    with count_queries() as counter:
        warm = await caller.post("/v1/moderations", data={"input": "x"}, content_type="application/json", headers=auth)
    assert warm.status_code == 200  # type: ignore[attr-defined]
    assert counter.statements == []


def test_a_hang_up_cancels_the_upstream_call_and_bills_nothing(moderators: OpenAIUpstream,
                                                                gateway: GatewayProcess) -> None:
    slow = Deployment.objects.get(model_name="omni-moderation-latest")
    slow.timeout = 120  # the upstream call may end only by the client leaving, never by its own timeout
    slow.save()
    key, secret = make_key(None, None, max_budget=1.0)
    moderators.reply_with(Reply(stall=True))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gateway.url}/v1/moderations", headers={"Authorization": f"Bearer {secret}"}, timeout=1,
                   json={"input": "hello"})
    assert moderators.hangup_event.wait(10)
    with client(gateway, secret) as caller:
        answer = caller.post("/v1/moderations", json={"input": "hello"})
    assert answer.status_code == 200, answer.text
    rows = wait_for_spend_rows(1, key_id=key.id)
    assert [(row.request_id, row.status) for row in rows] == [(answer.headers["x-request-id"], "success")]
