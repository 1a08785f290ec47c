"""Safety net: any saved or deleted key, user, team, membership, organization, end user or budget invalidates the
key snapshot."""
from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.core.snapshots import snapshot_bump
from apps.teams.models import (
    Budget,
    DeprecatedKey,
    EndUser,
    Organization,
    ProxyBudget,
    Team,
    TeamMembership,
    User,
    VirtualKey,
)
from apps.teams.proxy_budget import GENERATION as PROXY_GENERATION
from apps.teams.snapshot import GENERATION


@receiver([post_save, post_delete], sender=VirtualKey)
@receiver([post_save, post_delete], sender=Team)
@receiver([post_save, post_delete], sender=Organization)
@receiver([post_save, post_delete], sender=User)
@receiver([post_save, post_delete], sender=TeamMembership)
@receiver([post_save, post_delete], sender=EndUser)  # end users are cached with the keys
@receiver([post_save, post_delete], sender=Budget)
@receiver([post_save, post_delete], sender=DeprecatedKey)
def keys_changed(sender: type, **kwargs: Any) -> None:
    snapshot_bump(GENERATION)


@receiver([post_save, post_delete], sender=ProxyBudget)
def proxy_budget_changed(sender: type, **kwargs: Any) -> None:
    snapshot_bump(PROXY_GENERATION)
