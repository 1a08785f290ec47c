"""What a logged-in user sees in the portal: their teams, their keys, their spend, the models they may use."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from apps.routing.models import Deployment
from apps.routing.snapshot import record_for
from apps.teams.access import model_allowed
from apps.teams.models import TeamMembership, User, VirtualKey

PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model group the user may call and its price per million tokens (None when unknown)."""

    name: str
    providers: tuple[str, ...]
    input_per_million: Decimal | None
    output_per_million: Decimal | None


def my_memberships(user: User) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(user=user).select_related("team").order_by("team__team_alias", "team_id")


def my_keys(user: User) -> QuerySet[VirtualKey]:
    """The user's own keys, never another's (a team admin manages the team's in the admin)."""
    return VirtualKey.objects.filter(user=user).select_related("team").order_by("-created_at", "-id")


KEYS_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class MyKeys:
    """One page of the user's keys, newest first, found from where the last page ended (no OFFSET walk)."""

    keys: list[VirtualKey]
    total: int
    next_after: str  # "<key id>" of the page's last key, "" on the last page


def my_keys_page(user: User, *, after: str = "") -> MyKeys:
    """KEYS_PAGE_SIZE of the user's keys after the key `after` names (newest first; ids grow as keys are made)."""
    keys = VirtualKey.objects.filter(user=user).select_related("team").order_by("-id")
    total = keys.count()  # one user's keys, by the user index
    if after.isdigit():
        keys = keys.filter(id__lt=int(after))
    found = list(keys[:KEYS_PAGE_SIZE + 1])
    more = len(found) > KEYS_PAGE_SIZE
    found = found[:KEYS_PAGE_SIZE]
    return MyKeys(keys=found, total=total, next_after=str(found[-1].pk) if more else "")


@dataclass(frozen=True, slots=True)
class MySpend:
    """The user's own spend: every stored call of their keys (revoked keys' too), in their current budget window
    when they have one, else since their spend was last reset (by an admin), which is all time otherwise."""

    amount: Decimal
    window: str  # the budget window ("every 7d, next reset ..."), "" without one

    @property
    def label(self) -> str:
        return f"My spend this budget window ({self.window})" if self.window else "My spend (all my keys, revoked ones too)"


def my_spend(user: User) -> MySpend:
    """The user's spend as the gateway counts it against their budget (the spend flush adds every stored call of
    their keys to it): not the sum of their keys' spend, which resets with each key's window and loses revoked keys."""
    fresh = User.objects.only("spend", "budget_duration", "budget_reset_at").get(pk=user.pk)
    window = ""
    if fresh.budget_duration:
        window = f"every {fresh.budget_duration}" + (f", next reset {fresh.budget_reset_at:%Y-%m-%d %H:%M} UTC"
                                                     if fresh.budget_reset_at else "")
    return MySpend(amount=Decimal(fresh.spend or 0), window=window)


def key_status(key: VirtualKey) -> str:
    """active, blocked or expired."""
    if key.blocked:
        return "blocked"
    if key.expires is not None and key.expires <= timezone.now():
        return "expired"
    return "active"


def may_use(user: User, model: str, team_rules: list[tuple[str, ...]]) -> bool:
    """The user's own list allows the model, and so does one of their teams' lists (when they have teams)."""
    if not model_allowed(model, user.allowed_models or (), {}):
        return False
    return not team_rules or any(model_allowed(model, rules, {}) for rules in team_rules)


def my_models(user: User) -> list[ModelPrice]:
    """Enabled model groups the user may call through at least one of their teams, with list prices."""
    team_rules = [tuple(m.team.allowed_models or ()) for m in my_memberships(user)]
    groups: dict[str, list[Deployment]] = {}
    for row in Deployment.objects.filter(enabled=True).order_by("model_name", "id"):
        if may_use(user, row.model_name, team_rules):
            groups.setdefault(row.model_name, []).append(row)
    return [model_price(name, rows) for name, rows in groups.items()]


def per_million(cost: Decimal | None) -> Decimal | None:
    return None if cost is None else (Decimal(str(cost)) * PER_MILLION).quantize(Decimal("0.0001"))


def model_price(name: str, rows: list[Deployment]) -> ModelPrice:
    """The group's price: its first deployment's, as the gateway bills it."""
    record = record_for(rows[0], drop_params=False)
    return ModelPrice(name=name, providers=tuple(sorted({row.provider for row in rows})),
                      input_per_million=per_million(record.input_cost_per_token),
                      output_per_million=per_million(record.output_cost_per_token))
