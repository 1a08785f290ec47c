"""Migration 0004: rows made under integer ids come out under string ids with their relations and spend."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("teams", "0003_spendlog_request_id_unique_index_only")]
AFTER = [("teams", "0004_string_ids")]
MOMENT = datetime(2026, 3, 5, 12, tzinfo=UTC)


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate the test database to `targets`; returns the app registry at that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def old_rows(apps: Any) -> dict[str, Any]:
    """Rows as the integer-id schema made them: a user whose pk differs from any username."""
    user_model, team_model = apps.get_model("teams", "User"), apps.get_model("teams", "Team")
    org = apps.get_model("teams", "Organization").objects.create(organization_alias="acme")
    apps.get_model("teams", "User").objects.create(username="filler")  # so bob's pk is not 1
    bob = user_model.objects.create(username="bob", email="bob@example.com")
    team = team_model.objects.create(team_alias="team-a", organization=org)
    apps.get_model("teams", "TeamMembership").objects.create(team=team, user=bob, role="admin", spend=Decimal(2))
    key = apps.get_model("teams", "VirtualKey").objects.create(
        token_hash="a" * 64, key_name="sk-...abcd", key_alias="bob-key", user=bob, team=team,
        metadata={"tags": ["prod", "eu"], "owner": "ops"}, spend=Decimal("1.5"))
    apps.get_model("teams", "SpendLog").objects.create(
        request_id="r-1", key_id=key.pk, key_hash=key.token_hash, team_id=team.pk, user_id=bob.pk,
        organization_id=org.pk, cost=Decimal("0.25"), start_time=MOMENT, end_time=MOMENT)
    return {"org": org.pk, "team": team.pk, "bob": bob.pk, "key": key.pk}


@pytest.mark.django_db(transaction=True)
def test_existing_rows_keep_their_relations_and_spend_under_string_ids() -> None:
    pks = old_rows(migrate(BEFORE))
    apps = migrate(AFTER)
    try:
        team = apps.get_model("teams", "Team").objects.get(pk=pks["team"])
        assert (team.team_id, team.organization_id) == (str(pks["team"]), str(pks["org"]))
        org = apps.get_model("teams", "Organization").objects.get(pk=pks["org"])
        assert org.organization_id == str(pks["org"])
        key = apps.get_model("teams", "VirtualKey").objects.get(pk=pks["key"])
        assert (key.user_id, key.team_id, key.spend) == ("bob", str(pks["team"]), Decimal("1.5"))
        assert (key.tags, key.metadata) == (["prod", "eu"], {"owner": "ops"})
        member = apps.get_model("teams", "TeamMembership").objects.get()
        assert (member.user_id, member.team_id, member.role, member.spend) == ("bob", team.team_id, "admin", 2)
        row = apps.get_model("teams", "SpendLog").objects.get()
        assert (row.key_id, row.team_id, row.user_id, row.organization_id, row.cost, row.end_user) == (
            pks["key"], team.team_id, "bob", org.organization_id, Decimal("0.25"), "")
        assert list(apps.get_model("teams", "Team").objects.filter(keys__user__username="bob")
                    .values_list("team_alias", flat=True)) == ["team-a"]
    finally:
        migrate([("teams", max(n for a, n in migrate_leaves() if a == "teams"))])


def migrate_leaves() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_new_rows_default_to_uuid_ids() -> None:
    from apps.teams.models import Organization, Team

    team = Team.objects.create(team_alias="t")
    org = Organization.objects.create(organization_alias="o")
    assert len(team.team_id) == len(org.organization_id) == 36 and team.team_id.count("-") == 4
    assert Team.objects.create(team_id="engineering").team_id == "engineering"
