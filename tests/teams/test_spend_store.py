"""Storing buffered spend events (PostgreSQL: COPY + one statement; SQLite: the ORM): every attempt once,
spend added once for what was stored, malformed records dropped alone, a failed batch left buffered."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.db.models import Sum

from apps.core.state import state
from apps.teams import spend
from apps.teams.models import Organization, SpendLog, Team, TeamMembership, User, VirtualKey
from apps.teams.spend import spend_flush, spend_log_row, spend_store
from tests.teams.conftest import Cast, buffer, spend_event

LOG_FIELDS = [f.attname for f in SpendLog._meta.concrete_fields if f.attname != "id"]


def spend_of(model: type[User] | type[Team] | type[Organization] | type[VirtualKey], pk: int) -> Decimal:
    return model.objects.get(pk=pk).spend


def logged(**filters: object) -> Decimal:
    return SpendLog.objects.filter(**filters).aggregate(total=Sum("cost"))["total"] or Decimal(0)


def test_each_attempt_is_stored_once_and_its_cost_added_once(cast: Cast) -> None:
    bob, mallory = cast.bob.key, cast.mallory.key
    assert bob is not None and mallory is not None
    spend_store([spend_event("r-1", bob, "0.5").encode(), spend_event("r-2", mallory, "2").encode()])
    again = [spend_event("r-1", bob, "0.5"),  # stored by the first batch
             spend_event("r-3", bob, "0.25"), spend_event("r-3", bob, "0.25"),  # twice in this batch
             spend_event("r-2", mallory, "1", attempt=2),  # the retry of a stored attempt
             replace(spend_event("r-4", bob, "0"), status="failure")]
    result = spend_store([event.encode() for event in again])
    assert (result.stored, result.duplicates, result.dropped) == (3, 2, 0)
    assert sorted(SpendLog.objects.values_list("request_id", "attempt")) == [
        ("r-1", 1), ("r-2", 1), ("r-2", 2), ("r-3", 1), ("r-4", 1)]
    assert spend_of(VirtualKey, bob.pk) == spend_of(User, cast.bob.user.pk) == Decimal("0.75")  # type: ignore[union-attr]
    assert spend_of(VirtualKey, mallory.pk) == spend_of(Team, cast.team_b.pk) == Decimal(3)
    assert spend_of(Team, cast.team_a.pk) == spend_of(Organization, cast.org.pk) == Decimal("0.75")
    membership = TeamMembership.objects.get(team=cast.team_a, user=cast.bob.user)
    assert membership.spend == logged(key_id=bob.pk) == Decimal("0.75")
    assert spend_of(VirtualKey, cast.alice.key.pk) == 0  # type: ignore[union-attr]


def test_a_stored_row_keeps_every_field_of_its_event(cast: Cast) -> None:
    assert cast.bob.key is not None
    event = replace(spend_event("r-fields", cast.bob.key, "0.123456789", model="modèle-ü"), attempt=3,
                    prompt_tokens=1200, completion_tokens=34, cached_tokens=56, latency_ms=789, ttft_ms=45,
                    status="failure", error_type="x" * 150, start_time=1772712000.25, end_time=1772712001.5,
                    tags=("team:a", "café"))
    assert spend_store([event.encode()]).stored == 1
    stored = SpendLog.objects.values(*LOG_FIELDS).get()
    expected = spend_log_row(event)
    assert stored == {name: getattr(expected, name) for name in LOG_FIELDS}
    assert stored["error_type"] == "x" * 100 and stored["cost"] == Decimal("0.123456789")


ORPHAN = spend_event("r-bad", VirtualKey(), "1")  # an event of no key, user or team


@pytest.mark.parametrize("bad", [
    pytest.param(b"not json", id="not_json_case"),
    pytest.param(b"[1, 2]", id="not_an_object_case"),
    pytest.param(replace(ORPHAN, prompt_tokens=-5).encode(), id="negative_tokens_case"),
    pytest.param(ORPHAN.encode().replace(b'"start_time"', b'"started"'), id="missing_field_case"),
])
def test_a_malformed_record_is_dropped_alone(cast: Cast, bad: bytes) -> None:
    bob = cast.bob.key
    assert bob is not None
    good = [spend_event(f"r-{n}", bob, "0.5").encode() for n in range(5)]
    result = spend_store([*good[:2], bad, *good[2:]])
    assert (result.stored, result.duplicates, result.dropped) == (5, 0, 1)
    assert spend_of(VirtualKey, bob.pk) == logged() == Decimal("2.5")


def test_a_batch_that_fails_stays_buffered_and_is_stored_once_later(cast: Cast,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bob = cast.bob.key
    assert bob is not None
    buffer(*(spend_event(f"r-{n}", bob, "0.5") for n in range(5)))
    calls = []

    def store_then_lose_the_connection(records: list[bytes]) -> spend.FlushResult:
        calls.append(len(records))
        result = real_store(records)  # written, but not committed
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return result

    real_store = spend.spend_store_sql if spend.connection.vendor == "postgresql" else spend.spend_store_orm
    monkeypatch.setattr(spend, real_store.__name__, store_then_lose_the_connection)
    with pytest.raises(OperationalError):
        spend_flush(batch=2)
    assert (SpendLog.objects.count(), state().spend_pending(), spend_of(VirtualKey, bob.pk)) == (2, 3, Decimal(1))
    monkeypatch.undo()
    assert spend_flush(batch=2).stored == 3
    assert SpendLog.objects.count() == 5 and spend_of(VirtualKey, bob.pk) == logged() == Decimal("2.5")
