"""The teams' cast (alice admin of team A, bob member, mallory admin of team B) and spend rows for the dashboard."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.teams.models import SpendLog, User
from tests.teams.conftest import Actor, Cast, cast, empty_spend_buffer, priced  # noqa: F401 - fixtures used here

__all__ = ["cast", "empty_spend_buffer", "priced"]


def row(actor: Actor, request_id: str, at: datetime, cost: str, *, model: str = "gpt-a", deployment: str = "d-1",
        status: str = "success", attempt: int = 1, latency: int = 120, tags: tuple[str, ...] = (),
        **extra: Any) -> SpendLog:
    """One stored spend row of the actor's key."""
    key = actor.key
    assert key is not None
    return SpendLog.objects.create(
        request_id=request_id, attempt=attempt, key_id=key.pk, key_hash=key.token_hash, team_id=key.team_id,
        user_id=key.user_id, model_alias=model, deployment_id=deployment, provider="openai" if deployment else "",
        prompt_tokens=3, completion_tokens=4, cost=Decimal(cost), latency_ms=latency, status=status,
        error_type="" if status == "success" else "rate_limit", start_time=at, end_time=at, tags=list(tags), **extra)


def logged_in(user: User | None) -> Client:
    assert user is not None
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def staff(cast: Cast) -> User:  # noqa: F811
    return User.objects.create_user("root-staff", password="pw-staff-1234", is_staff=True)
