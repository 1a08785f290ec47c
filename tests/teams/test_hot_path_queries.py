"""Warm /v1 calls with a virtual key or the master key run no ORM query, in any thread, with budgets and limits at
every level, the proxy's included."""
from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.backends.utils import CursorWrapper
from django.test import AsyncClient

from apps.core.snapshots import snapshot_bump
from apps.core.state import reset_state
from apps.teams import services
from apps.teams.models import Budget, EndUser, Organization, Team, TeamMembership, VirtualKey
from apps.teams.proxy_budget import proxy_budget_set
from apps.teams.snapshot import GENERATION
from tests.conftest import MASTER_KEY
from tests.teams.conftest import MSG, Cast


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every SQL statement run by any thread (pool threads included), with its thread's name."""
    seen: list[tuple[str, str]] = []
    original = CursorWrapper._execute_with_wrappers

    def counting(self: CursorWrapper, sql: str, *args: Any, **kwargs: Any) -> Any:
        seen.append((threading.current_thread().name, sql))
        return original(self, sql, *args, **kwargs)

    monkeypatch.setattr(CursorWrapper, "_execute_with_wrappers", counting)
    reset_state()  # a fresh Redis client for this test's event loop
    yield seen
    reset_state()


async def calls(http: AsyncClient, auth: str) -> list[int]:
    """A chat call, a streamed one and an embeddings call."""
    chat = await http.post("/v1/chat/completions", {"model": "priced", "messages": MSG, "max_tokens": 5},
                           content_type="application/json", headers={"Authorization": auth})
    stream = await http.post("/v1/chat/completions", {"model": "priced", "messages": MSG, "stream": True},
                             content_type="application/json", headers={"Authorization": auth})
    body = b"".join([part async for part in stream.streaming_content])
    assert body.endswith(b"data: [DONE]\n\n")
    embed = await http.post("/v1/embeddings", {"model": "embed", "input": "hi"}, content_type="application/json",
                            headers={"Authorization": auth})
    return [chat.status_code, stream.status_code, embed.status_code]


def test_warm_calls_make_no_orm_queries(cast: Cast, priced, queries: list[tuple[str, str]]) -> None:
    priced()
    priced("embed", provider_model="text-embedding-3-small", input_cost_per_token=Decimal("0.000001"))
    services.team_update(team=cast.team_a, fields={"max_budget": Decimal(10), "team_member_budget": Decimal(10),
                                                   "rpm_limit": 1000, "budget_duration": "30d"})
    services.organization_update(organization=cast.org, fields={"max_budget": Decimal(10), "tpm_limit": 10**6})
    services.user_update(user=cast.bob.user, fields={"max_budget": Decimal(10)})  # type: ignore[arg-type]
    services.key_update(key=cast.bob.key, fields={"max_budget": Decimal(10), "max_parallel_requests": 50})  # type: ignore[arg-type]
    proxy_budget_set(max_budget=Decimal(100), budget_duration="monthly")
    auth, root = f"Bearer {cast.bob.secret}", f"Bearer {MASTER_KEY}"

    async def run() -> tuple[list[int], int, list[list[int]]]:
        http = AsyncClient()
        cold = await calls(http, auth) + await calls(http, root)
        before = len(queries)
        warm = [await calls(http, who) for _ in range(3) for who in (auth, root)]
        return cold, before, warm

    cold, before, warm = asyncio.run(run())
    gc.collect()  # closes the database connections of the finished pool threads
    assert cold == [200] * 6 and warm == [[200, 200, 200]] * 6
    assert before > 0  # the cold calls did load the snapshots
    assert queries[before:] == []


def test_warm_calls_with_every_key_feature_make_no_orm_queries(cast: Cast, priced,
                                                              queries: list[tuple[str, str]]) -> None:
    priced()
    VirtualKey.objects.filter(pk=cast.bob.key.pk).update(  # type: ignore[union-attr]
        aliases={"gpt-4": "priced"}, allowed_routes=["llm_api_routes"], tags=["team-x"],
        model_max_budget={"priced": {"budget_limit": 10, "time_period": "1d"}}, model_rpm_limit={"priced": 1000})
    EndUser.objects.create(user_id="customer-1", budget=Budget.objects.create(max_budget=Decimal(10), rpm_limit=1000))
    # The key's budget_id and temporary increase, bob's own budget in the team, the team's per-model limit and the
    # organization's budget_id: all read from the snapshot.
    VirtualKey.objects.filter(pk=cast.bob.key.pk).update(  # type: ignore[union-attr]
        budget=Budget.objects.create(max_budget=Decimal(10), rpm_limit=1000), temp_budget_increase=Decimal(1),
        temp_budget_expiry=datetime.now(UTC) + timedelta(days=1))
    TeamMembership.objects.filter(team=cast.team_a, user=cast.bob.user).update(
        budget=Budget.objects.create(max_budget=Decimal(10), rpm_limit=1000))
    Team.objects.filter(pk=cast.team_a.pk).update(model_rpm_limit={"priced": 1000}, team_member_tpm_limit=100_000)
    Organization.objects.filter(pk=cast.org.pk).update(budget=Budget.objects.create(max_budget=Decimal(10)))
    snapshot_bump(GENERATION)
    auth = f"Bearer {cast.bob.secret}"

    async def featured(http: AsyncClient) -> list[int]:
        statuses = []
        for model, user in (("gpt-4", "customer-1"), ("priced", "customer-unknown")):
            body = {"model": model, "messages": MSG, "max_tokens": 5, "user": user, "metadata": {"tags": ["a"]}}
            response = await http.post("/v1/chat/completions", body, content_type="application/json",
                                       headers={"Authorization": auth})
            statuses.append(response.status_code)
        return statuses

    async def run() -> tuple[list[int], int, list[list[int]]]:
        http = AsyncClient()
        cold = await featured(http)
        before = len(queries)
        warm = [await featured(http) for _ in range(3)]
        return cold, before, warm

    cold, before, warm = asyncio.run(run())
    gc.collect()
    assert cold == [200, 200] and warm == [[200, 200]] * 3
    assert before > 0
    assert queries[before:] == []
