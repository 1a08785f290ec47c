"""Spend rows written straight into the database (committed), as the spend flush stores them."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from apps.teams.models import SpendLog, Team
from tests.teams.conftest import Actor


def team_ref(team: Team) -> str:
    """The team's id as the API names it."""
    return str(getattr(team, "team_id", None) or team.pk)


def seed(actor: Actor, request_id: str, at: datetime, cost: str, *, model: str = "gpt-a", provider: str = "openai",
         status: str = "success", tags: Sequence[str] = (), prompt: int = 1, completion: int = 2,
         cached: int = 0) -> SpendLog:
    """One stored attempt by the actor's key."""
    key = actor.key
    assert key is not None
    team = key.team
    return SpendLog.objects.create(
        request_id=request_id, key_id=key.pk, key_hash=key.token_hash, team_id=key.team_id, user_id=key.user_id,
        organization_id=team.organization_id if team else None, model_alias=model, deployment_id="d-1",
        provider=provider, prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached,
        cost=Decimal(cost), status=status, error_type="" if status == "success" else "RateLimitError",
        start_time=at, end_time=at, tags=list(tags))
