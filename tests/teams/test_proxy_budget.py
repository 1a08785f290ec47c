"""The proxy-wide budget (litellm_settings.max_budget + budget_duration): every /v1 call counts, master key included,
reserved and settled atomically like the other levels, stored in its singleton row, reset by beat and lazily."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.core.state import state
from apps.teams.budgets import budgets_reset
from apps.teams.models import ProxyBudget, SpendLog
from apps.teams.proxy_budget import proxy_budget_set, proxy_ledger
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import Cast, chat, client, wait_for_spend_rows
from tests.teams.test_concurrency import ONE_CALL, fire


@pytest.fixture(autouse=True)
def lift_proxy_budget_after() -> Iterator[None]:
    """Delete the row through the ORM after the test (a truncation would not tell the gateway's snapshot)."""
    yield
    ProxyBudget.objects.all().delete()


def refusal(spend: str, limit: str) -> dict[str, object]:
    return {"error": {"message": f"Budget has been exceeded! Proxy=litellm-proxy-budget Current cost: {spend}, "
                                 f"Max budget: {limit}", "type": "budget_exceeded", "param": "proxy", "code": "400"}}


@pytest.mark.django_db
def test_load_config_stores_the_proxy_budget_with_a_calendar_month_window(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("model_list: []\nlitellm_settings: {max_budget: 1000, budget_duration: monthly}\n")
    call_command("load_config", str(path))
    row = ProxyBudget.objects.get()
    now = datetime.now(UTC)
    first_of_next = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    assert (row.pk, row.max_budget, row.budget_duration, row.spend) == (1, Decimal(1000), "monthly", Decimal(0))
    assert row.budget_reset_at == first_of_next
    call_command("load_config", str(path))  # reloading keeps the running window
    assert ProxyBudget.objects.get().budget_reset_at == first_of_next


def test_master_key_calls_are_refused_once_the_proxy_budget_is_spent(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    proxy_budget_set(max_budget=3 * ONE_CALL, budget_duration="")
    with client(gateway, MASTER_KEY) as http:
        assert [chat(http, max_tokens=5).status_code for _ in range(3)] == [200, 200, 200]
        refused = chat(http, max_tokens=5)
    assert refused.status_code == 400
    assert refused.json() == refusal("0.015", "0.015")
    assert len(wait_for_spend_rows(3)) == 3  # stored before the next test empties the tables


def test_seeded_proxy_spend_refuses_every_caller(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    proxy_budget_set(max_budget=Decimal(1000), budget_duration="monthly")
    ProxyBudget.objects.update(spend=Decimal(1000))
    for secret in (MASTER_KEY, cast.alice.secret, cast.mallory.secret):
        with client(gateway, secret) as http:
            response = chat(http, max_tokens=5)
        assert (response.status_code, response.json()) == (400, refusal("1000", "1000"))


def test_60_parallel_calls_across_keys_and_teams_share_one_proxy_budget(cast: Cast, priced,
                                                                        gateway: GatewayProcess) -> None:
    priced()
    proxy_budget_set(max_budget=10 * ONE_CALL, budget_duration="30d")

    async def all_at_once():
        return await asyncio.gather(*(fire([gateway.url], secret, 15, max_tokens=5) for secret in (
            MASTER_KEY, cast.alice.secret, cast.bob.secret, cast.mallory.secret)))

    outcomes = asyncio.run(all_at_once())
    assert sum((o[(200, "")] for o in outcomes)) == 10
    assert sum((o[(400, "budget_exceeded")] for o in outcomes)) == 50
    rows = wait_for_spend_rows(10)
    assert len(rows) == 10 and sum(r.cost for r in rows) == 10 * ONE_CALL
    deadline = time.monotonic() + 15
    while ProxyBudget.objects.get().spend != 10 * ONE_CALL and time.monotonic() < deadline:
        wait_for_spend_rows(10)
    assert ProxyBudget.objects.get().spend == 10 * ONE_CALL  # the flush adds every call's cost to the row
    if settings.REDIS_URL:
        assert state().ledger_spend(proxy_ledger(ProxyBudget.objects.get())) == 50_000_000


def test_parallel_calls_without_max_tokens_overspend_by_at_most_one_call(cast: Cast, priced,
                                                                         gateway: GatewayProcess) -> None:
    priced()
    budget = 10 * ONE_CALL
    proxy_budget_set(max_budget=budget, budget_duration="")
    full_answer = Decimal("0.007")
    outcome = asyncio.run(fire([gateway.url], cast.bob.secret, 60))
    successes = outcome[(200, "")]
    assert successes >= 1 and outcome[(400, "budget_exceeded")] == 60 - successes
    rows = wait_for_spend_rows(successes)
    total = sum((r.cost for r in rows), Decimal(0))
    assert len(rows) == successes and total == successes * full_answer
    assert total <= budget + full_answer


def test_an_ended_window_resets_lazily_on_the_next_call(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    proxy_budget_set(max_budget=ONE_CALL, budget_duration="2s")
    with client(gateway, MASTER_KEY) as http:
        assert chat(http, max_tokens=5).status_code == 200
        assert chat(http, max_tokens=5).status_code == 400
        deadline = time.monotonic() + 10
        while (status := chat(http, max_tokens=5).status_code) != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert status == 200  # the window ended: its spend is not carried over
    assert len(wait_for_spend_rows(2)) == 2


@pytest.mark.django_db
def test_beat_resets_the_proxy_budget_when_its_window_ends() -> None:
    proxy_budget_set(max_budget=Decimal(5), budget_duration="daily")
    ended = datetime(2026, 3, 1, tzinfo=UTC)
    ProxyBudget.objects.update(spend=Decimal(4), budget_reset_at=ended)
    assert budgets_reset(now=ended + timedelta(hours=1)) == 1
    row = ProxyBudget.objects.get()
    assert (row.spend, row.budget_reset_at) == (Decimal(0), ended + timedelta(days=1))


@pytest.mark.django_db
def test_without_a_max_budget_no_call_is_counted_at_the_proxy_level() -> None:
    from apps.teams.proxy_budget import load_proxy_scopes

    assert load_proxy_scopes() == ()
    proxy_budget_set(max_budget=None, budget_duration="")
    assert load_proxy_scopes() == ()
    assert SpendLog.objects.count() == 0


def test_an_admin_edit_of_the_proxy_budget_reaches_the_next_call(cast: Cast, priced, gateway: GatewayProcess) -> None:
    from django.test import Client

    from apps.teams.models import User

    priced()
    User.objects.create_superuser("root-admin", "root@example.com", "pw-0123456789")
    admin = Client()
    admin.force_login(User.objects.get(username="root-admin"))
    response = admin.post("/admin/teams/proxybudget/add/", {"max_budget": "0.005", "budget_duration": "daily"})
    assert response.status_code == 302
    row = ProxyBudget.objects.get()
    assert (row.max_budget, row.budget_duration, row.budget_reset_at is not None) == (ONE_CALL, "daily", True)
    with client(gateway, cast.alice.secret) as http:
        assert [chat(http, max_tokens=5).status_code for _ in range(2)] == [200, 400]
    assert len(wait_for_spend_rows(1)) == 1


def test_calls_far_from_the_proxy_budget_are_counted_exactly(cast: Cast, priced, gateway: GatewayProcess) -> None:
    """Far from its limit the proxy level is leased (apps/teams/leases.py) like any other: every cent still lands."""
    priced()
    proxy_budget_set(max_budget=1000 * ONE_CALL, budget_duration="")
    for secret in (MASTER_KEY, cast.mallory.secret):
        assert asyncio.run(fire([gateway.url], secret, 1, max_tokens=5)) == {(200, ""): 1}
    outcome = asyncio.run(fire([gateway.url], MASTER_KEY, 100, max_tokens=5))
    assert outcome == {(200, ""): 100}
    rows = wait_for_spend_rows(102)
    assert len(rows) == 102
    deadline = time.monotonic() + 15
    while ProxyBudget.objects.get().spend != 102 * ONE_CALL and time.monotonic() < deadline:
        wait_for_spend_rows(102)
    assert ProxyBudget.objects.get().spend == 102 * ONE_CALL
    if settings.REDIS_URL:
        ledger = proxy_ledger(ProxyBudget.objects.get())
        while state().ledger_spend(ledger) != 102 * 5_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)  # leased spend reaches Redis with the lease's next report
        assert state().ledger_spend(ledger) == 102 * 5_000_000
