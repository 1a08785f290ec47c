"""Reset spend to zero on any budgeted row (the admin's "reset spend" action): the row and its live counter."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import models, transaction

from apps.core.snapshots import snapshot_bump
from apps.teams.end_user_snapshot import end_user_ledger
from apps.teams.models import EndUser, Organization, ProxyBudget, Team, TeamMembership, User, VirtualKey
from apps.teams.proxy_budget import GENERATION as PROXY_GENERATION, proxy_ledger
from apps.teams.services import spend_override
from apps.teams.snapshot import GENERATION, key_ledger, member_ledger, organization_ledger, team_ledger, user_ledger

LEDGERS: dict[type[models.Model], Callable[[Any], str]] = {
    VirtualKey: key_ledger, User: user_ledger, Team: team_ledger, Organization: organization_ledger,
    EndUser: end_user_ledger, ProxyBudget: proxy_ledger, TeamMembership: lambda m: member_ledger(m, m.team),
}


@transaction.atomic
def spend_reset(*, rows: Iterable[models.Model]) -> int:
    """Set each row's spend (and the counter the hot path reads) to 0; how many rows."""
    count = 0
    for row in rows:
        locked = type(row)._default_manager.select_for_update().get(pk=row.pk)
        spend_override(locked, LEDGERS[type(row)](locked), Decimal(0))
        locked.save(update_fields=["spend"])
        count += 1
    snapshot_bump(GENERATION)
    snapshot_bump(PROXY_GENERATION)
    return count
