"""How a spend row names its key, user and team, and how the API names them (LiteLLM's string ids).

A row's `team_id` is the team's API id (`str()` of it is what clients send), its `user_id` names a user
whose API id is the username, and its `key_hash` is the key's `token`. Filters take the API's strings
and never fail on one that names nothing (an unknown id matches no row, as if it did not exist).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db.models import Field, Q

from apps.teams.auth import hash_key
from apps.teams.models import SpendLog, Team, User, VirtualKey

NOTHING = Q(pk__in=[])


class KeyMeta(TypedDict):
    key_alias: str | None
    key_name: str | None
    team_id: str | None


def column_value(column: str, value: str) -> Any:
    """`value` as the spend-log column holds it, or None when no row can hold it."""
    try:
        field = SpendLog._meta.get_field(column)
        return field.to_python(value) if isinstance(field, Field) else value
    except ValidationError:
        return None


def holds_user_names() -> bool:
    """Whether SpendLog.user_id holds the user's API id itself (string ids) or the user's row id."""
    return SpendLog._meta.get_field("user_id").get_internal_type() == "CharField"


def key_hash_of(ref: str) -> str:
    """A key as LiteLLM clients send it: the secret (`sk-...`) or its hash."""
    return hash_key(ref) if ref.startswith("sk-") else ref


def team_rows(team_ids: Iterable[str]) -> Q:
    """Rows charged to any of these teams."""
    values = [v for v in (column_value("team_id", str(t)) for t in team_ids) if v is not None]
    return Q(team_id__in=values) if values else NOTHING


def user_rows(user_id: str) -> Q:
    """Rows of the user with this API id."""
    if holds_user_names():
        return Q(user_id=user_id)
    return Q(user_id__in=User.objects.filter(username=user_id).values("pk"))


def user_labels(values: Iterable[Any]) -> dict[Any, str]:
    """Each row's user_id value -> the user's API id."""
    present = {v for v in values if v is not None}
    if holds_user_names():
        return {v: str(v) for v in present}
    return dict(User.objects.filter(pk__in=present).values_list("pk", "username"))


def team_aliases(values: Iterable[Any]) -> dict[str, str]:
    """str(row's team_id) -> the team's alias."""
    wanted = {str(v) for v in values if v is not None}
    if not wanted:
        return {}
    column = "team_id" if any(f.name == "team_id" for f in Team._meta.get_fields()) else "pk"
    found = Team.objects.filter(**{f"{column}__in": [column_value("team_id", w) or w for w in wanted]})
    return {str(getattr(team, column)): team.team_alias for team in found}


def key_metadata(hashes: Iterable[str]) -> dict[str, KeyMeta]:
    """Key hash -> its alias, masked name and team, for the keys that still exist."""
    rows = VirtualKey.objects.filter(token_hash__in={h for h in hashes if h}).values_list(
        "token_hash", "key_alias", "key_name", "team_id")
    return {token: KeyMeta(key_alias=alias or None, key_name=name or None,
                           team_id=None if team is None else str(team)) for token, alias, name, team in rows}
