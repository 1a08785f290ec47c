"""`general_settings.team_settings` of a LiteLLM config: those teams, with those ids, budgets and models.

Each entry takes the fields of `/team/new` (validated by the same serializer): a team whose `team_id`
is new is created, a known one gets the entry's values. Only values that differ are written, so loading
the same file again starts no new budget window. Teams the file no longer lists are kept: they hold keys
and spend. LiteLLM's per-team logging callbacks are not Tollgate's; their keys are reported as ignored.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.core.errors import GatewayError
from apps.teams import services
from apps.teams.errors import TeamSettingsInvalid
from apps.teams.models import Team
from apps.teams.permissions import first_error
from apps.teams.selectors import ROOT
from apps.teams.serializers import TeamNewSerializer, columns
from apps.teams.use_cases.common import references
from apps.teams.use_cases.teams import team_members_given

WHERE = "general_settings.team_settings"
CALLBACK_KEYS = frozenset({"success_callback", "failure_callback", "callbacks", "callback_vars",
                           "langfuse_public_key", "langfuse_secret", "langfuse_secret_key", "langfuse_host"})


@dataclass(frozen=True, slots=True)
class TeamSettingsResult:
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()  # "general_settings.team_settings[0].success_callback"


def entry_body(index: int, entry: Any) -> dict[str, Any]:
    """The validated /team/new body of one entry (TeamSettingsInvalid naming the entry and field)."""
    where = f"{WHERE}[{index}]"
    if not isinstance(entry, Mapping) or not entry.get("team_id"):
        raise TeamSettingsInvalid(f"{where} needs a team_id")
    body = TeamNewSerializer(data={k: v for k, v in entry.items() if k not in CALLBACK_KEYS})
    if not body.is_valid():
        field, message = first_error(body.errors)
        raise TeamSettingsInvalid(f"{where}.{field}: {message}")
    return dict(body.validated_data)


def changed(team: Team, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from the team's."""
    return {name: value for name, value in fields.items() if getattr(team, name) != value}


def team_apply(index: int, body: Mapping[str, Any]) -> bool:
    """Create or update one entry's team; True when it was created."""
    try:
        fields = {**columns(body), **references(body)}
        members = team_members_given(ROOT, body)  # config.yaml speaks with the proxy admin's authority
    except GatewayError as exc:
        raise TeamSettingsInvalid(f"{WHERE}[{index}]: {exc.message}") from None
    team = Team.objects.filter(team_id=body["team_id"]).first()
    if team is None:
        services.team_new(fields=fields, members=members, team_id=body["team_id"])
        return True
    update = changed(team, fields)
    if update:
        services.team_update(team=team, fields=update)
    for user, role in members:
        services.team_member_add(team=team, user=user, role=role)
    return False


@transaction.atomic
def team_settings_apply(*, entries: Sequence[Any]) -> TeamSettingsResult:
    """Make the listed teams exist with the listed settings (all entries, or none on an error)."""
    bodies = [entry_body(i, entry) for i, entry in enumerate(entries)]
    created: list[str] = []
    updated: list[str] = []
    for index, body in enumerate(bodies):
        (created if team_apply(index, body) else updated).append(body["team_id"])
    ignored = tuple(f"{WHERE}[{i}].{key}" for i, entry in enumerate(entries) for key in entry if key in CALLBACK_KEYS)
    return TeamSettingsResult(created=tuple(created), updated=tuple(updated), ignored=ignored)
