"""Virtual keys as the hot path sees them: looked up by hash, cached per process, misses included."""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings

from apps.core.snapshots import with_fresh_connection
from apps.core.state import state
from apps.teams.durations import Duration, InvalidDuration, parse_duration
from apps.teams.model_limits import LEVEL as MODEL_LEVEL
from apps.teams.model_limits import TEAM_LEVEL as TEAM_MODEL_LEVEL
from apps.teams.model_limits import ModelLimit, model_limits, window_start
from apps.teams.routes import RouteRules, compile_routes

GENERATION = "keys"
MAX_CACHED_KEYS = 100_000
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class BudgetScope:
    """One level's budget and limits (key, user, team_member, team or organization), money in nanodollars."""

    level: str
    ledger: str  # state-backend id, unique for the row's lifetime (a reused primary key gets a new one)
    label: str  # what error messages call it
    max_budget: int | None = None
    soft_budget: int | None = None
    spend: int = 0  # as stored in the database when the snapshot was built
    duration: Duration | None = None
    reset_at: float | None = None  # epoch seconds
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None
    # A key's temp_budget_increase (nanodollars), added to max_budget while the clock is before temp_until.
    temp_increase: int = 0
    temp_until: float | None = None

    def budget_at(self, now: float) -> int | None:
        """The budget in force at `now` (LiteLLM's temporary increase counts until its expiry)."""
        if self.max_budget is not None and self.temp_until is not None and now < self.temp_until:
            return self.max_budget + self.temp_increase
        return self.max_budget


CLIENT_ENDPOINT_PERMISSION = "allow_client_side_credentials"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What authorisation needs to know about one virtual key."""

    id: int
    token_hash: str
    key_alias: str
    user_id: str | None  # public string ids (User.username, Team.team_id, Organization.organization_id)
    team_id: str | None
    organization_id: str | None
    models: tuple[str, ...]
    team_models: tuple[str, ...]
    blocked: bool
    expires_at: float | None  # epoch seconds
    metadata: dict[str, object]
    scopes: tuple[BudgetScope, ...] = ()  # key, user, team_member, team, organization: first limit hit blocks
    # What most keys do not have is None (or empty), so the hot path tests one attribute and moves on.
    # Per-model budgets and limits: the key's (model_max_budget, ...) then its team's (model_rpm_limit, ...).
    model_scopes: tuple[dict[str, BudgetScope], ...] = ()
    aliases: dict[str, str] | None = None  # the key's model aliases: requested name -> model group
    routes: RouteRules | None = None  # allowed_routes
    tags: tuple[str, ...] = ()
    # LiteLLM's object_permission.agents of the key and of its team (None: no restriction at that level).
    agents: frozenset[str] | None = None
    team_agents: frozenset[str] | None = None
    # LiteLLM's `allow_client_side_credentials`, here a key permission: calls may name their own api_base.
    client_endpoints: bool = False
    team_blocked: bool = False  # `blocked` says whether the key may call; this says which level blocked it

    def is_expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def nanos(value: Decimal | None) -> int | None:
    """Dollars as integer nanodollars (None stays None)."""
    return None if value is None else int((value * 1_000_000_000).to_integral_value())


def _duration(text: str) -> Duration | None:
    try:
        return parse_duration(text) if text else None
    except InvalidDuration:
        return None  # the API and admin validate; a bad legacy value means "no window"


def stamp(value: datetime | None) -> int:
    return int(value.timestamp() * 1_000_000) if value is not None else 0


def key_ledger(key: Any) -> str:
    return f"key:{key.pk}:{stamp(key.created_at)}"


def user_ledger(user: Any) -> str:
    return f"user:{user.pk}:{stamp(user.date_joined)}"


def team_ledger(team: Any) -> str:
    return f"team:{team.pk}:{stamp(team.created_at)}"


def organization_ledger(org: Any) -> str:
    return f"org:{org.pk}:{stamp(org.created_at)}"


def member_ledger(member: Any, team: Any) -> str:
    return f"member:{member.pk}:{team.pk}:{stamp(team.created_at)}"


def budget_scope(level: str, ledger: str, label: str, row: Any, *, limits: bool = True) -> BudgetScope:
    """A BudgetScope from a row with the BudgetFields columns (or a view of one)."""
    return BudgetScope(
        level=level, ledger=ledger, label=label, max_budget=nanos(getattr(row, "max_budget", None)),
        soft_budget=nanos(getattr(row, "soft_budget", None)), spend=nanos(row.spend) or 0,
        duration=_duration(getattr(row, "budget_duration", "")), reset_at=_epoch(row.budget_reset_at),
        rpm_limit=row.rpm_limit if limits else None, tpm_limit=row.tpm_limit if limits else None,
        max_parallel_requests=row.max_parallel_requests if limits else None)


INHERITED = ("max_budget", "soft_budget", "rpm_limit", "tpm_limit", "max_parallel_requests", "budget_duration",
             "model_max_budget")


@dataclass(frozen=True, slots=True)
class WithBudget:
    """A key or organization read with its Budget row (`budget_id`) filling every limit the row leaves empty, as
    LiteLLM's `litellm_budget_table_*` columns fill a key's."""

    row: Any
    budget: Any

    def __getattr__(self, name: str) -> Any:
        own = getattr(self.row, name)
        if name in INHERITED and own in (None, "", {}) and self.budget is not None:
            return getattr(self.budget, name)
        return own


def with_budget(row: Any) -> Any:
    """The row, or the row over its Budget when it names one (loaded with select_related)."""
    return WithBudget(row, row.budget) if row.budget_id is not None else row


def model_scopes(limits: dict[str, ModelLimit], *, level: str, ledger: str, label: str, spent: object,
                 created_at: datetime | None) -> dict[str, BudgetScope] | None:
    """One level per model with a limit (None when there is none)."""
    if not limits:
        return None
    spent = spent if isinstance(spent, dict) else {}
    scopes = {}
    for model, limit in limits.items():
        # A windowed model budget's spend lives in the state backend only, as LiteLLM keeps it in its cache;
        # `model_spend` (the running total) seeds one with no window.
        seed = Decimal(str(spent.get(model, 0) or 0)) if limit.duration is None else Decimal(0)
        scopes[model] = BudgetScope(
            level=level, ledger=f"{ledger}:model:{model}", label=f"{label} model={model}",
            max_budget=nanos(limit.max_budget), spend=nanos(seed) or 0, duration=limit.duration,
            reset_at=window_start(created_at, limit.duration), rpm_limit=limit.rpm_limit,
            tpm_limit=limit.tpm_limit)
    return scopes


def key_model_scopes(key: Any) -> dict[str, BudgetScope] | None:
    """The key's per-model levels (model_max_budget, its budget's when it has none, model_rpm_limit,
    model_tpm_limit), None when it has none."""
    view = with_budget(key)
    limits = model_limits(model_max_budget=view.model_max_budget, model_rpm_limit=key.model_rpm_limit,
                          model_tpm_limit=key.model_tpm_limit, metadata=key.metadata or {})
    return model_scopes(limits, level=MODEL_LEVEL, ledger=key_ledger(key), label=key.key_alias or key.key_name,
                        spent=key.model_spend, created_at=key.created_at)


def team_model_scopes(team: Any) -> dict[str, BudgetScope] | None:
    """The team's per-model rate limits (`model_rpm_limit` / `model_tpm_limit`, else its metadata's, where LiteLLM
    keeps them), shared by every key of the team."""
    limits = model_limits(model_max_budget={}, model_rpm_limit=team.model_rpm_limit,
                          model_tpm_limit=team.model_tpm_limit, metadata=team.metadata or {})
    return model_scopes(limits, level=TEAM_MODEL_LEVEL, ledger=team_ledger(team), label=team.team_alias,
                        spent={}, created_at=team.created_at)


def temp_budget(key: Any) -> tuple[Decimal | None, float | None]:
    """A key's temporary increase and its expiry: the columns, else its metadata's (where LiteLLM keeps them, so an
    imported key's keep working)."""
    if key.temp_budget_increase is not None and key.temp_budget_expiry is not None:
        return key.temp_budget_increase, _epoch(key.temp_budget_expiry)
    metadata = key.metadata if isinstance(key.metadata, dict) else {}
    increase, expiry = metadata.get("temp_budget_increase"), metadata.get("temp_budget_expiry")
    try:
        until = datetime.fromisoformat(str(expiry))
        amount = Decimal(str(increase))
    except (ValueError, ArithmeticError):
        return None, None
    if not amount.is_finite():
        return None, None
    return amount, (until if until.tzinfo else until.replace(tzinfo=UTC)).timestamp()


def key_level(key: Any) -> BudgetScope:
    """The key's own level: its limits over its budget's, with a temporary budget increase until its expiry."""
    scope = budget_scope("key", key_ledger(key), key.key_alias or key.key_name, with_budget(key))
    increase, until = temp_budget(key)
    if scope.max_budget is not None and increase and until is not None:
        scope = replace(scope, temp_increase=nanos(increase) or 0, temp_until=until)
    return scope


def member_duration(member: Any) -> str:
    """A member's window: their budget's, else the team's `team_member_budget_duration`, else the team's own."""
    budget = member.budget
    return (budget.budget_duration if budget is not None else "") or member.team.team_member_budget_duration or \
        member.team.budget_duration


def member_level(member: Any, team: Any, user: Any) -> BudgetScope:
    """A member's level in their team: their own budget row (`max_budget_in_team`, member rpm/tpm) over the
    team's `team_member_budget` / `team_member_rpm_limit` / `team_member_tpm_limit`."""
    budget = member.budget

    def own(name: str, fallback: Any) -> Any:
        value = getattr(budget, name) if budget is not None else None
        return fallback if value is None else value

    return BudgetScope(
        level="team_member", ledger=member_ledger(member, team), label=f"{user.username} in {team.team_alias}",
        max_budget=nanos(own("max_budget", team.team_member_budget)), spend=nanos(member.spend) or 0,
        duration=_duration(member_duration(member)), reset_at=_epoch(member.budget_reset_at),
        rpm_limit=own("rpm_limit", team.team_member_rpm_limit), tpm_limit=own("tpm_limit", team.team_member_tpm_limit),
        max_parallel_requests=own("max_parallel_requests", None))


def key_scopes(key: Any) -> tuple[BudgetScope, ...]:
    """Every level that can refuse this key's calls, narrowest first."""
    from apps.teams.models import TeamMembership

    scopes = [key_level(key)]
    user, team = key.user, key.team
    if user is not None:
        scopes.append(budget_scope("user", user_ledger(user), user.username, user))
    if team is not None and user is not None:
        member = TeamMembership.objects.select_related("budget").filter(team=team, user=user).first()
        if member is not None:
            member.team = team
            scopes.append(member_level(member, team, user))
    if team is not None:
        scopes.append(budget_scope("team", team_ledger(team), team.team_alias, team))
        org = team.organization
        if org is not None:
            scopes.append(budget_scope("organization", organization_ledger(org), org.organization_alias,
                                       with_budget(org)))
    return tuple(scopes)


def load_key(token_hash: str) -> KeyRecord | None:
    """Read one key (with its user, team, membership and organization budgets) from the database; a previous
    secret of a regenerated key is accepted until its grace period ends."""
    from apps.teams.models import VirtualKey

    key = VirtualKey.objects.select_related("team__organization__budget", "user", "budget").filter(token_hash=token_hash).first()
    if key is None:
        return load_deprecated_key(token_hash)
    return key_record(key)


def load_deprecated_key(token_hash: str) -> KeyRecord | None:
    """A regenerated key's previous secret within its grace period: the key itself, expiring when the grace ends."""
    from apps.teams.models import DeprecatedKey

    old = DeprecatedKey.objects.select_related("key__team__organization__budget", "key__user", "key__budget").filter(
        token_hash=token_hash).first()
    if old is None or old.revoke_at.timestamp() <= time.time():
        return None
    record = key_record(old.key)
    grace_end = old.revoke_at.timestamp()
    return replace(record, expires_at=grace_end if record.expires_at is None else min(record.expires_at, grace_end))


def _mapping(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def key_aliases(key: Any) -> dict[str, str] | None:
    """Requested model -> model group: the team's `model_aliases` first, then the key's `aliases` on the result,
    as LiteLLM applies them; None when neither has any."""
    team_aliases = _mapping(key.team.model_aliases) if key.team is not None else {}
    own = _mapping(key.aliases)
    if not team_aliases and not own:
        return None
    resolved = {}
    for name in (*team_aliases, *own):
        first = team_aliases.get(name, name)
        final = own.get(first, first)
        if final != name:
            resolved[name] = final
    return resolved or None


def key_tags(key: Any) -> tuple[str, ...]:
    """The key's tags: its `tags` column, else its metadata's `tags` (where LiteLLM keeps them)."""
    tags = key.tags or (key.metadata or {}).get("tags")
    return tuple(dict.fromkeys(str(tag) for tag in tags)) if isinstance(tags, list) else ()


def permitted_agents(permission: Any) -> frozenset[str] | None:
    """The agents an `object_permission` names; None when it names none (no restriction)."""
    agents = permission.get("agents") if isinstance(permission, dict) else None
    return frozenset(str(agent) for agent in agents) if isinstance(agents, list) and agents else None


def key_model_tables(key: Any) -> tuple[dict[str, BudgetScope], ...]:
    """The key's per-model levels, then its team's, leaving out those without any."""
    tables = (key_model_scopes(key), team_model_scopes(key.team) if key.team is not None else None)
    return tuple(table for table in tables if table)


def key_record(key: Any) -> KeyRecord:
    """The hot path's view of one key row (with its team, organization and user loaded)."""
    team = key.team
    return KeyRecord(
        id=key.pk, token_hash=key.token_hash, key_alias=key.key_alias, user_id=key.user_id, team_id=key.team_id,
        organization_id=key.organization_id or (team.organization_id if team else None), models=tuple(key.allowed_models or ()),
        team_models=tuple(team.allowed_models or ()) if team else (),
        blocked=key.blocked or bool(team and team.blocked), expires_at=_epoch(key.expires),
        metadata=dict(key.metadata or {}), scopes=key_scopes(key), model_scopes=key_model_tables(key),
        aliases=key_aliases(key), routes=compile_routes(key.allowed_routes), tags=key_tags(key),
        agents=permitted_agents(key.object_permission),
        team_agents=permitted_agents(team.object_permission) if team else None,
        client_endpoints=(key.permissions or {}).get(CLIENT_ENDPOINT_PERMISSION) is True,
        team_blocked=bool(team and team.blocked))


class KeyCache(Generic[R]):
    """Id -> record (or None for unknown ids), dropped whole when the keys generation moves (keys by hash, end
    users by id)."""

    def __init__(self, loader: Callable[[str], R | None]) -> None:
        self._loader = loader
        self._entries: OrderedDict[str, R | None] = OrderedDict()
        self._generation: int | None = None
        self._fresh_until = 0.0

    async def get(self, token_hash: str) -> R | None:
        """The record for this id; one query per distinct id per generation, none when warm."""
        now = time.monotonic()
        if now >= self._fresh_until:
            generation = await state().generation(GENERATION)
            if generation != self._generation:
                self._entries.clear()
                self._generation = generation
            self._fresh_until = now + settings.TOLLGATE_SNAPSHOT_TTL
        if token_hash in self._entries:
            self._entries.move_to_end(token_hash)
            return self._entries[token_hash]
        record = await sync_to_async(with_fresh_connection(self._loader), thread_sensitive=False)(token_hash)
        self._entries[token_hash] = record
        if len(self._entries) > MAX_CACHED_KEYS:
            self._entries.popitem(last=False)
        return record

    def clear(self) -> None:
        self._entries.clear()
        self._generation, self._fresh_until = None, 0.0


key_cache: KeyCache[KeyRecord] = KeyCache(load_key)
