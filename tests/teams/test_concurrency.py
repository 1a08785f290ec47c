"""Budgets under real parallel requests, in one gateway process and across two sharing Redis.

The overspend bound (apps/core/state/base.py `admit`): a call is admitted while every level has
something left, and reserves its worst case (prompt bound + max_tokens x the dearest reachable
deployment) or what is left, whichever is less. A level that had to cut a reservation refuses every
other call until that one settles. So when every call's worst case fits, spend never passes
max_budget; otherwise spend passes max_budget by at most one call's worst-case cost per level.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal

import httpx
import pytest
from django.conf import settings

from apps.core.state import state
from apps.teams.models import SpendLog, VirtualKey
from apps.teams.snapshot import key_ledger
from tests.conftest import GatewayProcess
from tests.teams.conftest import MSG, Cast, make_key, wait_for_spend_rows

ONE_CALL = Decimal("0.005")  # max_tokens=5 at 0.001 per completion token, prompt tokens free
FULL_ANSWER = Decimal("0.007")  # the mock's 7-word answer when max_tokens is not sent


async def fire(urls: list[str], secret: str, count: int, **body: object) -> Counter[tuple[int, str]]:
    """`count` chat calls at once, spread over the given gateways; (status, error type) of each."""
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers={"Authorization": f"Bearer {secret}"}) as http:
        calls = [http.post(f"{urls[i % len(urls)]}/v1/chat/completions",
                           json={"model": "priced", "messages": MSG, **body}) for i in range(count)]
        responses = await asyncio.gather(*calls)
    return Counter((r.status_code, r.json()["error"]["type"] if r.status_code != 200 else "") for r in responses)


def spent(key: VirtualKey) -> Decimal:
    """The key's live spend in the state backend (Redis or, embedded, the gateway's memory via the logs)."""
    rows = wait_for_spend_rows(0, key_id=key.pk)
    return sum((r.cost for r in rows), Decimal(0))


def test_200_parallel_calls_on_a_key_that_affords_10(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, secret = make_key(cast.bob.user, cast.team_a, max_budget=10 * ONE_CALL)
    outcome = asyncio.run(fire([gateway.url], secret, 200, max_tokens=5))
    assert outcome == {(200, ""): 10, (400, "budget_exceeded"): 190}
    rows = wait_for_spend_rows(10, key_id=key.pk, status="success")
    assert len(rows) == 10 and sum(r.cost for r in rows) == 10 * ONE_CALL
    refused = wait_for_spend_rows(190, key_id=key.pk, status="refused")  # every refusal logged, once
    assert len(refused) == 190 and {(r.limit_level, r.limit_kind, r.cost) for r in refused} == {("key", "budget", 0)}
    if settings.REDIS_URL:
        assert state().ledger_spend(key_ledger(key)) == 50_000_000  # nanodollars


async def fire_at(url: str, secret: str, count: int, path: str, body: dict[str, object]) -> list[httpx.Response]:
    """`count` calls at once to `path`, sent with both the OpenAI and the Anthropic key headers."""
    limits = httpx.Limits(max_connections=count)
    headers = {"Authorization": f"Bearer {secret}", "x-api-key": secret}
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as http:
        return list(await asyncio.gather(*[http.post(f"{url}{path}", json=body) for _ in range(count)]))


SURFACES = [
    pytest.param("/v1/messages", {"model": "priced", "max_tokens": 5, "messages": MSG}, "invalid_request_error",
                 id="messages_case"),
    pytest.param("/v1/embeddings", {"model": "embed", "input": [11, 12, 13, 14, 15]}, "budget_exceeded",
                 id="embeddings_case"),
]


@pytest.mark.parametrize(("path", "body", "refusal"), SURFACES)
def test_200_parallel_calls_on_other_surfaces_spend_what_the_key_affords(
        cast: Cast, priced, gateway: GatewayProcess, path: str, body: dict[str, object], refusal: str) -> None:
    """Each call's worst case is its real cost (5 completion tokens; an embedding of 5 tokens given as ids), so
    exactly the 10 calls the budget affords are served however the 200 race, and each is one row."""
    priced()
    priced("embed", provider_model="text-embedding-3-small", input_cost_per_token=Decimal("0.001"),
           output_cost_per_token=Decimal(0))
    key, secret = make_key(cast.bob.user, cast.team_a, max_budget=10 * ONE_CALL)
    answers = asyncio.run(fire_at(gateway.url, secret, 200, path, body))
    outcome = Counter((a.status_code, a.json()["error"]["type"] if a.status_code != 200 else "") for a in answers)
    assert outcome == {(200, ""): 10, (400, refusal): 190}
    rows = wait_for_spend_rows(10, key_id=key.pk, status="success")
    assert len(rows) == 10 and sum(r.cost for r in rows) == 10 * ONE_CALL
    if settings.REDIS_URL:
        assert state().ledger_spend(key_ledger(key)) == 50_000_000  # nanodollars: counters equal the logs


def test_overspend_without_max_tokens_stays_within_one_call(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    budget = 10 * ONE_CALL
    key, secret = make_key(cast.bob.user, cast.team_a, max_budget=budget)
    outcome = asyncio.run(fire([gateway.url], secret, 200))
    successes = outcome[(200, "")]
    assert successes >= 1 and outcome[(400, "budget_exceeded")] == 200 - successes
    rows = wait_for_spend_rows(successes, key_id=key.pk, status="success")
    total = sum((r.cost for r in rows), Decimal(0))
    assert len(rows) == successes and total == successes * FULL_ANSWER
    assert total <= budget + FULL_ANSWER  # the documented bound


@pytest.fixture
def second_gateway(gateway: GatewayProcess, tmp_path) -> GatewayProcess:
    if not settings.REDIS_URL:
        pytest.skip("processes share limits through Redis only")
    other = GatewayProcess(log_dir=tmp_path)
    yield other
    other.stop()


def test_budget_holds_across_two_gateway_processes(cast: Cast, priced, gateway: GatewayProcess,
                                                   second_gateway: GatewayProcess) -> None:
    priced()
    key, secret = make_key(cast.bob.user, cast.team_a, max_budget=10 * ONE_CALL)
    outcome = asyncio.run(fire([gateway.url, second_gateway.url], secret, 100, max_tokens=5))
    assert outcome == {(200, ""): 10, (400, "budget_exceeded"): 90}
    assert len(wait_for_spend_rows(10, key_id=key.pk, status="success")) == 10


def test_rpm_holds_across_two_gateway_processes(cast: Cast, priced, gateway: GatewayProcess,
                                                second_gateway: GatewayProcess) -> None:
    priced()
    _, secret = make_key(cast.bob.user, cast.team_a, rpm_limit=7)
    outcome = asyncio.run(fire([gateway.url, second_gateway.url], secret, 20, max_tokens=5))
    # Both processes count in one Redis minute window (a boundary between calls could reset it: at most 14).
    assert outcome[(200, "")] in (7, 14) and outcome[(429, "rate_limit_error")] == 20 - outcome[(200, "")]


def test_successful_calls_equal_spend_rows_and_counters_equal_the_logs(cast: Cast, priced,
                                                                       gateway: GatewayProcess) -> None:
    priced()
    from apps.teams import services

    services.team_update(team=cast.team_a, fields={"team_member_budget": Decimal(100)})
    outcomes = [asyncio.run(fire([gateway.url], actor.secret, 15, max_tokens=n))
                for actor, n in ((cast.alice, 3), (cast.bob, 5), (cast.mallory, 2))]
    assert all(o == {(200, ""): 15} for o in outcomes)
    rows = wait_for_spend_rows(45)
    assert len(rows) == 45 and {r.status for r in rows} == {"success"}
    assert len({(r.request_id, r.attempt) for r in rows}) == 45
    for model, field in (("key", "key_id"), ("user", "user_id"), ("team", "team_id"),
                         ("organization", "organization_id")):
        for row in reconcile(field):
            assert row["spend"] == row["logged"], (model, row)
    from apps.teams.models import TeamMembership

    for member in TeamMembership.objects.all():
        logged = sum((r.cost for r in rows if (r.team_id, r.user_id) == (member.team_id, member.user_id)),
                     Decimal(0))
        assert member.spend == logged


def reconcile(field: str) -> list[dict[str, Decimal]]:
    """Each row's spend column next to the sum of its logs."""
    from django.db.models import Sum

    from apps.teams.models import Organization, Team, User

    model, column = {"key_id": (VirtualKey, "pk"), "user_id": (User, "username"), "team_id": (Team, "team_id"),
                     "organization_id": (Organization, "organization_id")}[field]
    logged = dict(SpendLog.objects.values(field).annotate(total=Sum("cost")).values_list(field, "total"))
    return [{"spend": row.spend, "logged": logged.get(getattr(row, column), Decimal(0))} for row in model.objects.all()]


def test_leased_calls_across_two_processes_stay_within_budget_and_are_counted_exactly(
        cast: Cast, priced, gateway: GatewayProcess, second_gateway: GatewayProcess) -> None:
    """Far from its limit a key's calls are admitted under each process's lease (apps/teams/leases.py): the
    budget still holds, the counters equal the logs, and every lease is given back once it ends."""
    from apps.core.state.redis import ledger_key

    priced()
    key, secret = make_key(cast.bob.user, cast.team_a, max_budget=200 * ONE_CALL)
    for url in (gateway.url, second_gateway.url):  # each process's first call asks for its lease
        assert asyncio.run(fire([url], secret, 1, max_tokens=5)) == {(200, ""): 1}
    time.sleep(0.2)
    outcome = asyncio.run(fire([gateway.url, second_gateway.url], secret, 400, max_tokens=5))
    successes = outcome[(200, "")] + 2
    assert 100 <= successes <= 200 and outcome[(400, "budget_exceeded")] == 400 - successes + 2
    rows = wait_for_spend_rows(successes, key_id=key.pk, status="success")
    assert len(rows) == successes and sum((r.cost for r in rows), Decimal(0)) == successes * ONE_CALL
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and int(state().sync.hget(ledger_key(key_ledger(key)), "reserved") or 0):
        time.sleep(0.1)
    assert state().sync.hget(ledger_key(key_ledger(key)), "reserved") == b"0"  # every lease given back
    assert state().ledger_spend(key_ledger(key)) == successes * 5_000_000
