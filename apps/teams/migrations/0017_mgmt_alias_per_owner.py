"""Key aliases unique per owner (a user's keys in a team, a team's keys without a user, a user's keys without a
team, keys of nobody) instead of across all keys, so a taken alias can never name another team's key.

Expand then contract: the per-owner indexes are added while the global one still holds (every row satisfies
them, as they are weaker), then the global one goes. Code of the release before keeps working throughout.
"""
from __future__ import annotations

from django.db import migrations, models

from apps.core.migration_ops import AddConstraintConcurrently, RemoveConstraintConcurrently


def per_owner(name: str, fields: tuple[str, ...], *, team: bool, user: bool) -> AddConstraintConcurrently:
    return AddConstraintConcurrently(model_name="virtualkey", constraint=models.UniqueConstraint(
        fields=fields, name=name,
        condition=~models.Q(key_alias="") & models.Q(team__isnull=not team, user__isnull=not user)))


class Migration(migrations.Migration):
    atomic = False  # the indexes are built and dropped concurrently: keys keep being written meanwhile

    dependencies = [("teams", "0016_secrets_seal_params")]

    operations = [
        per_owner("virtualkey_alias_per_member", ("team", "user", "key_alias"), team=True, user=True),
        per_owner("virtualkey_alias_per_team", ("team", "key_alias"), team=True, user=False),
        per_owner("virtualkey_alias_per_user", ("user", "key_alias"), team=False, user=True),
        per_owner("virtualkey_alias_unowned", ("key_alias",), team=False, user=False),
        RemoveConstraintConcurrently(model_name="virtualkey", name="virtualkey_unique_alias"),
    ]
