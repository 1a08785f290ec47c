"""Keys a user makes and revokes in the portal, through the management API's own use cases and checks."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.core.errors import InvalidRequest, PermissionDenied
from apps.teams.durations import add_duration, parse_duration
from apps.teams.models import Team, User, VirtualKey
from apps.teams.selectors import caller_for_user
from apps.teams.serializers.keys import KeyGenerateSerializer
from apps.teams.use_cases import keys as key_cases


def within_key_duration(team: Team | None, duration: str) -> None:
    """A team's `team_member_key_duration` caps how long its members' keys may live."""
    if team is None or not team.team_member_key_duration:
        return
    cap = team.team_member_key_duration
    now = timezone.now()
    if not duration or add_duration(now, parse_duration(duration)) > add_duration(now, parse_duration(cap)):
        raise PermissionDenied(f"Keys of team '{team.team_alias or team.team_id}' may live at most {cap}.",
                               param="duration")


def portal_key_generate(*, user: User, team: Team | None, alias: str, models: list[str],
                        max_budget: Decimal | None, duration: str) -> dict[str, Any]:
    """A new key of the user's, within their team's limits; the answer holds its secret, shown once."""
    body: dict[str, Any] = {"user_id": user.username, "models": models}
    if team is not None:
        body["team_id"] = team.team_id
    if alias:
        body["key_alias"] = alias
    if max_budget is not None:
        body["max_budget"] = str(max_budget)
    if duration:
        body["duration"] = duration
    within_key_duration(team, duration)
    return key_cases.key_generate(caller=caller_for_user(user), body=validated(body))


def validated(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body as /key/generate validates it; the first problem as a 400."""
    serializer = KeyGenerateSerializer(data=dict(body))
    try:
        serializer.is_valid(raise_exception=True)
    except ValidationError as error:
        name, messages = next(iter(error.detail.items()))  # type: ignore[union-attr]
        raise InvalidRequest(f"{name}: {messages[0]}", param=str(name)) from None
    return dict(serializer.validated_data)


def portal_key_revoke(*, user: User, key: VirtualKey) -> list[str]:
    """Delete one of the user's own keys; its hash."""
    if key.user_id != user.username:
        raise PermissionDenied("Only the key's owner can revoke it here.", param="key")
    return list(key_cases.key_delete(caller=caller_for_user(user), body={"keys": [key.token_hash]})["deleted_keys"])
