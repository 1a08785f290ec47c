"""The cast (alice: team admin, bob: member, mallory: another team's admin, root: master key) and priced models."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.conf import settings

from apps.core.state import state
from apps.routing.models import Deployment, RouterSettings
from apps.teams.metering import SpendEvent
from apps.teams import services
from apps.teams.models import EndUser, Organization, SpendLog, Team, User, VirtualKey
from apps.teams.spend import spend_flush
from tests.conftest import MASTER_KEY, GatewayProcess

PRICE_OUT = Decimal("0.001")  # USD per completion token on the `priced` model; prompt tokens are free
MSG = [{"role": "user", "content": "hello"}]  # the mock answers with 7 words: "This is a mock response to: hello"


@dataclass(frozen=True)
class Actor:
    name: str
    secret: str
    key: VirtualKey | None
    user: User | None


@dataclass(frozen=True)
class Cast:
    root: Actor
    alice: Actor
    bob: Actor
    mallory: Actor
    carol: User  # in no team yet
    team_a: Team
    team_b: Team
    org: Organization

    def actor(self, name: str) -> Actor:
        return getattr(self, name)


def make_user(name: str, **fields: Any) -> User:
    user, _ = services.user_new(user_id=name, fields={"email": f"{name}@example.com", **fields})
    return user


def make_key(user: User | None, team: Team | None, **fields: Any) -> tuple[VirtualKey, str]:
    issued = services.key_generate(fields={"user": user, "team": team, **fields})
    return issued.key, issued.secret


@pytest.fixture
def cast(transactional_db: None) -> Cast:
    """Team A (alice admin, bob member) in org acme; team B (mallory admin); each with a key."""
    org = services.organization_new(fields={"organization_alias": "acme"})
    alice, bob, mallory, carol = (make_user(n) for n in ("alice", "bob", "mallory", "carol"))
    team_a = services.team_new(fields={"team_alias": "team-a", "organization": org},
                               members=[(alice, "admin"), (bob, "user")])
    team_b = services.team_new(fields={"team_alias": "team-b"}, members=[(mallory, "admin")])
    actors = {}
    for user, team in ((alice, team_a), (bob, team_a), (mallory, team_b)):
        key, secret = make_key(user, team, key_alias=f"{user.username}-key")
        actors[user.username] = Actor(user.username, secret, key, user)
    return Cast(root=Actor("root", MASTER_KEY, None, None), alice=actors["alice"], bob=actors["bob"],
                mallory=actors["mallory"], carol=carol, team_a=team_a, team_b=team_b, org=org)


@pytest.fixture
def priced(transactional_db: None) -> Callable[..., Deployment]:
    """Make a mock-provider deployment with a known price (answered in the gateway process, no network)."""
    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})

    def make(model_name: str = "priced", *, provider_model: str = "gpt-4o-mini", **fields: Any) -> Deployment:
        values: dict[str, Any] = {"provider": "mock", "provider_model": provider_model,
                                  "input_cost_per_token": Decimal(0), "output_cost_per_token": PRICE_OUT}
        values.update(fields)
        return Deployment.objects.create(model_name=model_name, **values)

    return make


@pytest.fixture(autouse=True)
def empty_spend_buffer(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """Each test starts with no spend events waiting (Redis keeps them between tests) and no spend rows of earlier
    tests: embedded, the gateway's flush loop may store an earlier test's last calls after its tables were emptied
    (adding their cost to a user id the next test creates again), so that is waited for and dropped first."""
    backend = state()
    backend.spend_ack(backend.spend_pending())
    for server in LAST_GATEWAY:
        if server.flushes_itself() and server.process.poll() is None:
            assert server.wait_spend_stored(), "the gateway's spend buffer did not empty"
            with django_db_blocker.unblock():
                SpendLog.objects.all().delete()
                EndUser.objects.all().delete()
    LAST_GATEWAY.clear()
    yield
    LAST_GATEWAY.extend(value for value in getattr(request.node, "funcargs", {}).values()
                        if isinstance(value, GatewayProcess))


LAST_GATEWAY: list[GatewayProcess] = []  # the gateways the test before used, whose late spend the next one waits for


def spend_event(request_id: str, key: VirtualKey, cost: str, model: str = "priced", *, attempt: int = 1) -> SpendEvent:
    """A buffered spend event of one attempt by `key` that cost `cost` USD."""
    now = datetime(2026, 3, 5, 12, tzinfo=UTC).timestamp()
    team = key.team
    return SpendEvent(request_id=request_id, attempt=attempt, key_id=key.pk, key_hash=key.token_hash,
                      team_id=key.team_id, user_id=key.user_id, organization_id=team.organization_id if team else None,
                      model_alias=model, deployment_id="1", provider="mock", call_type="chat", prompt_tokens=4,
                      completion_tokens=5, cached_tokens=0, cost_nanos=int(Decimal(cost) * 10**9), latency_ms=5,
                      ttft_ms=None, status="success", error_type="", start_time=now, end_time=now)


def buffer(*events: SpendEvent) -> None:
    """Push spend events into the buffer, as the gateway does after a call."""
    asyncio.run(state().settle_and_push([], [e.encode() for e in events], reserved=0, actual=0, tokens=0, now=0))


def client(gateway: GatewayProcess, secret: str) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30)


def chat(http: httpx.Client, model: str = "priced", **body: Any) -> httpx.Response:
    return http.post("/v1/chat/completions", json={"model": model, "messages": MSG, **body})


def wait_for_spend_rows(count: int, *, timeout: float = 15.0, **filters: Any) -> list[SpendLog]:
    """Poll until `count` SpendLog rows of upstream attempts match (refused calls' rows only when `filters` name a
    `status`); with Redis the test flushes, embedded the gateway's loop does."""
    deadline = time.monotonic() + timeout
    found = SpendLog.objects.filter(**filters)
    if not any(name.startswith("status") for name in filters):
        found = found.exclude(status="refused")
    while True:
        if settings.REDIS_URL:
            spend_flush()
        rows = list(found.order_by("start_time", "attempt"))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def wait_for_buffered(count: int, *, timeout: float = 5.0) -> int:
    """Poll the Redis spend buffer until it holds `count` events (a gateway sends them within a few ms)."""
    deadline = time.monotonic() + timeout
    while (pending := state().spend_pending()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return pending
