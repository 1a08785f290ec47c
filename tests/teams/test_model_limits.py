"""Per-model budgets and rate limits of a key (LiteLLM's model_max_budget, model_rpm_limit, model_tpm_limit)."""
from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from apps.core.snapshots import snapshot_bump
from apps.core.state import state
from apps.teams.models import VirtualKey
from apps.teams.snapshot import GENERATION, key_ledger
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, chat, client, make_key, wait_for_spend_rows
from tests.teams.test_concurrency import FULL_ANSWER, fire

ONE_CALL = Decimal("0.005")  # max_tokens=5 at 0.001 per completion token


def key_with(cast: Cast, **columns: Any) -> tuple[VirtualKey, str]:
    """A key of bob's in team A with LiteLLM columns set as an import or the management API would."""
    key, secret = make_key(cast.bob.user, cast.team_a, key_alias="bob-model-key")
    VirtualKey.objects.filter(pk=key.pk).update(**columns)
    snapshot_bump(GENERATION)
    return VirtualKey.objects.get(pk=key.pk), secret


@pytest.mark.parametrize("budget", [
    pytest.param({"budget_limit": 0.01, "time_period": "1d"}, id="budget_limit_case"),
    pytest.param({"max_budget": 0.01, "budget_duration": "30d"}, id="max_budget_case"),
    pytest.param(0.01, id="bare_number_case"),
])
def test_model_budget_refuses_that_model_only(cast: Cast, priced, gateway: GatewayProcess, budget: object) -> None:
    priced()
    priced("other")
    key, secret = key_with(cast, model_max_budget={"priced": budget})
    with client(gateway, secret) as http:
        assert [chat(http, max_tokens=5).status_code for _ in range(2)] == [200, 200]
        refused = chat(http, max_tokens=5)
        other = chat(http, "other", max_tokens=5)
    assert refused.status_code == 400
    assert refused.json() == {"error": {
        "message": "Budget has been exceeded! Key=bob-model-key model=priced Current cost: 0.01, Max budget: 0.01",
        "type": "budget_exceeded", "param": "key_model", "code": "400"}}
    assert other.status_code == 200
    wait_for_spend_rows(3, key_id=key.pk)
    key.refresh_from_db()
    assert {m: Decimal(str(v)) for m, v in key.model_spend.items()} == {"priced": 2 * ONE_CALL, "other": ONE_CALL}
    assert key.spend == 3 * ONE_CALL


def test_model_budget_matches_the_model_without_its_provider_prefix(cast: Cast, priced,
                                                                    gateway: GatewayProcess) -> None:
    priced("openai/priced")
    _, secret = key_with(cast, model_max_budget={"priced": {"budget_limit": 0.005}})
    with client(gateway, secret) as http:
        assert chat(http, "openai/priced", max_tokens=5).status_code == 200
        assert chat(http, "openai/priced", max_tokens=5).json()["error"]["param"] == "key_model"


def test_unwindowed_model_budget_starts_from_the_stored_model_spend(cast: Cast, priced,
                                                                     gateway: GatewayProcess) -> None:
    priced()
    _, secret = key_with(cast, model_max_budget={"priced": 0.01}, model_spend={"priced": 0.01})
    with client(gateway, secret) as http:
        refused = chat(http, max_tokens=5)
    assert refused.status_code == 400
    assert "Current cost: 0.01, Max budget: 0.01" in refused.json()["error"]["message"]


def test_model_rpm_limit_is_429_naming_the_model(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    priced("other")
    _, secret = key_with(cast, model_rpm_limit={"priced": 2})
    with client(gateway, secret) as http:
        statuses = [chat(http).status_code for _ in range(3)]
        limited = chat(http)
        other = chat(http, "other")
    assert statuses == [200, 200, 429]
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"]["message"].startswith(
        "Rate limit reached for Key=bob-model-key model=priced: rpm_limit 2 (current 2).")
    assert other.status_code == 200


@pytest.mark.parametrize("columns", [
    pytest.param({"model_tpm_limit": {"priced": 5}}, id="column_case"),
    pytest.param({"metadata": {"model_tpm_limit": {"priced": 5}}}, id="metadata_case"),
    pytest.param({"model_max_budget": {"priced": {"tpm_limit": 5}}}, id="model_max_budget_case"),
])
def test_model_tpm_limit_is_429_after_the_minutes_tokens(cast: Cast, priced, gateway: GatewayProcess,
                                                         columns: dict[str, Any]) -> None:
    priced()
    _, secret = key_with(cast, **columns)
    with client(gateway, secret) as http:
        assert chat(http).status_code == 200  # 4 prompt + 7 completion tokens: the minute's 5 are used up
        limited = chat(http)
    assert limited.status_code == 429
    assert "model=priced: tpm_limit 5" in limited.json()["error"]["message"]


def test_50_parallel_calls_stay_within_the_model_budget(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, secret = key_with(cast, model_max_budget={"priced": {"budget_limit": float(10 * ONE_CALL),
                                                              "time_period": "1d"}})
    outcome = asyncio.run(fire([gateway.url], secret, 50, max_tokens=5))
    assert outcome == {(200, ""): 10, (400, "budget_exceeded"): 40}
    rows = wait_for_spend_rows(10, key_id=key.pk)
    assert sum(r.cost for r in rows) == 10 * ONE_CALL
    if settings.REDIS_URL:
        assert state().ledger_spend(f"{key_ledger(key)}:model:priced") == 50_000_000  # nanodollars


def test_50_parallel_calls_without_max_tokens_overspend_by_at_most_one_call(cast: Cast, priced,
                                                                           gateway: GatewayProcess) -> None:
    priced()
    budget = 10 * ONE_CALL
    key, secret = key_with(cast, model_max_budget={"priced": {"budget_limit": float(budget)}})
    outcome = asyncio.run(fire([gateway.url], secret, 50))
    successes = outcome[(200, "")]
    assert successes >= 1 and outcome[(400, "budget_exceeded")] == 50 - successes
    rows = wait_for_spend_rows(successes, key_id=key.pk)
    total = sum((r.cost for r in rows), Decimal(0))
    assert len(rows) == successes and total == successes * FULL_ANSWER
    assert total <= budget + FULL_ANSWER
