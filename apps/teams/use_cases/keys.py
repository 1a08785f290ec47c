"""/key/*: generate, update, regenerate, block, delete, info and list (LiteLLM's bodies and answers)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy

from apps.core.errors import InvalidRequest, PermissionDenied
from apps.teams import selectors, services
from apps.teams.access import model_allowed
from apps.teams.key_claims import alias_clashes, alias_taken
from apps.teams.models import DeletedKey, Team, TeamMembership, User, VirtualKey
from apps.teams.representations import key_json, user_json
from apps.teams.rotation import key_regenerate_with_grace
from apps.teams.routes import key_type_routes
from apps.teams.selectors import Caller, own_keys
from apps.teams.serializers import columns
from apps.teams.use_cases.common import existing_user, page_of, references

LIMIT_FIELDS = ("max_budget", "rpm_limit", "tpm_limit", "max_parallel_requests")


def within_team_limits(team: Team, body: Mapping[str, Any]) -> None:
    """A member's own keys may not go past their team's limits or models."""
    for name in LIMIT_FIELDS:
        cap, asked = getattr(team, name), body.get(name)
        if cap is not None and asked is not None and asked > cap:
            raise PermissionDenied(f"{name} {asked} is above the team's {name} of {cap}.", param=name)
    for model in body.get("models") or ():
        if not model_allowed(model, team.allowed_models or (), {}):
            raise PermissionDenied(f"The team may not use model={model}.", param="models")


def key_owner(caller: Caller, body: Mapping[str, Any]) -> tuple[User | None, Team | None]:
    """Who a new key belongs to, once the caller may create it there.

    What the caller may do is decided before anything is looked up: a member's key makes keys only for itself
    (403 whatever `user_id` names), and a user or team the caller may not see answers as one that does not exist.
    """
    team_ref = body.get("team_id") or (None if caller.is_admin else caller.team_id)
    team = selectors.team_get(caller, team_ref) if team_ref else None
    if not caller.is_admin and (team is None or not caller.manages_team(team.team_id)):
        return member_key_owner(caller, body, team)
    user = existing_user(caller, body.get("user_id"))
    if not caller.is_admin and user is not None and team is not None and \
            not TeamMembership.objects.filter(team=team, user=user).exists():
        raise InvalidRequest(f"User '{user.username}' is not a member of this team.", param="user_id")
    return user, team


def member_key_owner(caller: Caller, body: Mapping[str, Any], team: Team | None) -> tuple[User | None, Team | None]:
    """A member's new key: its own, within its team's limits."""
    asked = body.get("user_id")
    if asked and asked != caller.user_id:
        raise PermissionDenied("A member's key can only create keys for itself.", param="user_id")
    if team is not None:
        within_team_limits(team, body)
    owner = User.objects.filter(username=caller.user_id).first() if caller.user_id is not None else None
    return owner, team


def unique_alias(alias: str | None, *, user: User | None, team: Team | None, key: VirtualKey | None = None) -> None:
    """An alias is unique among the keys of its owner (`user` in `team`), all of which the caller may see."""
    if alias_clashes(alias, user_id=user.username if user else None, team_id=team.team_id if team else None,
                     key_pk=key.pk if key else None):
        raise alias_taken(str(alias))


def unique_alias_after(body: Mapping[str, Any], key: VirtualKey, fields: Mapping[str, Any]) -> None:
    """The alias check of an existing key, against the owner it has once `fields` (a move) apply."""
    if body.get("key_alias"):
        unique_alias(body["key_alias"], user=fields.get("user", key.user), team=fields.get("team", key.team), key=key)


def admin_only(caller: Caller, body: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if body.get(name) and not caller.is_admin:
            raise PermissionDenied(f"Only a proxy admin can set {name}.", param=name)


def key_generate(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /key/generate."""
    user, team = key_owner(caller, body)
    admin_only(caller, body, "spend", "budget_id", "organization_id")
    unique_alias(body.get("key_alias"), user=user, team=team)
    fields = {**columns(body), **key_type_routes(body.get("key_type")), **references(body), "user": user, "team": team,
              "created_by": caller.user_id or ""}
    if body.get("spend"):
        fields["spend"] = body["spend"]
    issued = services.key_generate(fields=fields, duration=body.get("duration"), secret=body.get("key"))
    return key_json(issued.key, secret=issued.secret)


def moves(caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """New owner fields for a key (only a proxy admin moves keys between users, teams, organizations)."""
    moved = [name for name in ("user_id", "team_id", "organization_id", "budget_id") if name in body]
    if not moved:
        return {}
    if not caller.is_admin:
        raise PermissionDenied("Only a proxy admin can move a key to another user, team or organization.",
                               param=moved[0])
    fields: dict[str, Any] = references(body)
    if "user_id" in body:
        fields["user"] = existing_user(caller, body["user_id"])
    if "team_id" in body:
        fields["team"] = selectors.team_get(caller, body["team_id"]) if body["team_id"] else None
    return fields


def key_update(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /key/update."""
    key = selectors.key_get(caller, body["key"], manage=True)
    admin_only(caller, {"spend": "spend" in body}, "spend")
    fields = {**columns(body), **moves(caller, body)}
    unique_alias_after(body, key, fields)
    if "spend" in body:
        fields["spend"] = body["spend"]
    return key_json(services.key_update(key=key, fields=fields, duration=body.get("duration")))


def key_regenerate(*, caller: Caller, body: Mapping[str, Any], ref: str | None = None) -> dict[str, Any]:
    """POST /key/regenerate and /key/{key}/regenerate."""
    target = ref or body.get("key")
    if not target:
        raise InvalidRequest("key: This field is required.", param="key")
    key = selectors.key_get(caller, target)
    fields = {**columns(body), **moves(caller, body)}
    if fields and not caller.manages_team(key.team_id):
        raise PermissionDenied("Only a proxy admin or team admin can change a key's settings.", param="key")
    unique_alias_after(body, key, fields)
    issued = key_regenerate_with_grace(key=key, fields=fields, secret=body.get("new_key"),
                                       grace_period=body.get("grace_period"))
    return key_json(issued.key, secret=issued.secret)


def key_block(*, caller: Caller, body: Mapping[str, Any], blocked: bool) -> dict[str, Any]:
    """POST /key/block and /key/unblock."""
    return key_json(services.key_block(key=selectors.key_get(caller, body["key"], manage=True), blocked=blocked))


def key_delete(*, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /key/delete."""
    keys = [selectors.key_get(caller, ref) for ref in body.get("keys") or ()]
    keys += [selectors.key_get_by_alias(caller, alias) for alias in body.get("key_aliases") or ()]
    return {"deleted_keys": services.key_delete(keys=keys, deleted_by=caller.user_id or "")}


def key_info(*, caller: Caller, ref: str | None) -> dict[str, Any]:
    """GET /key/info?key=... (without `key`: the calling key)."""
    if ref is None:
        key = selectors.key_list(caller).filter(pk=caller.key_id).first() if caller.key_id else None
        if key is None:
            raise InvalidRequest("key: give the key to look up.", param="key")
    else:
        key = selectors.key_get(caller, ref)
    return {"key": key.token_hash, "info": key_json(key)}


def listed_scope(caller: Caller, query: Mapping[str, Any], *, deleted: bool) -> Q:
    """Which of the caller's visible keys /key/list shows: LiteLLM's flags, for callers who do not read all.

    `include_team_keys=false` narrows a team admin's list to its own keys (unset, the list holds its teams' keys
    too, which it may see anyway); `include_created_by_keys` adds the keys it made for others.
    """
    if caller.user_id is not None:
        scope = Q(user_id=caller.user_id)
    else:  # a key of no user: itself (alive, so never among the deleted)
        scope = Q(pk__in=[]) if deleted else own_keys(caller)
    if query.get("include_team_keys") is not False:
        scope |= Q(team_id__in=caller.admin_team_ids)
    if query.get("include_created_by_keys") and caller.user_id is not None:
        scope |= Q(created_by=caller.user_id)
    return scope


def filtered_keys(caller: Caller, query: Mapping[str, Any]) -> QuerySet[Any]:
    deleted = query.get("status") == "deleted"
    keys: QuerySet[Any] = DeletedKey.objects.order_by("id") if deleted else selectors.key_list(caller)
    if not caller.reads_all:
        keys = keys.filter(listed_scope(caller, query, deleted=deleted))
    for name, column in (("user_id", "user_id"), ("team_id", "team_id"), ("organization_id", "organization_id"),
                         ("key_alias", "key_alias"), ("key_hash", "token_hash")):
        if query.get(name):
            keys = keys.filter(**{column: query[name]})
    if query.get("sort_by") and not deleted:
        keys = keys.order_by(sorted_by(query["sort_by"], query["sort_order"]), "id")
    return keys


def sorted_by(column: str, order: str) -> OrderBy:
    """PostgreSQL's (and so LiteLLM's) order on every database: empty values last going up, first going down."""
    return F(column).desc(nulls_first=True) if order == "desc" else F(column).asc(nulls_last=True)


def key_list(*, caller: Caller, query: Mapping[str, Any]) -> dict[str, Any]:
    """GET /key/list: LiteLLM's {keys, total_count, current_page, total_pages}."""
    keys = filtered_keys(caller, query)
    total = keys.count()
    window, pages = page_of(total, query["page"], query["size"])
    rows = list(keys[window])
    full, expand_user = query["return_full_object"], "user" in (query.get("expand") or ())
    listed: list[Any] = []
    for key in rows:
        if not full and not expand_user:
            listed.append(key.token_hash)
            continue
        if isinstance(key, DeletedKey):
            listed.append({**key.info, "deleted_at": key.deleted_at.isoformat(), "deleted_by": key.deleted_by or None})
            continue
        entry = key_json(key)
        if expand_user:
            entry["user"] = user_json(key.user) if key.user else None
        listed.append(entry)
    return {"keys": listed, "total_count": total, "current_page": query["page"], "total_pages": pages}
