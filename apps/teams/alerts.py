"""Soft budget alerts: a key, user, team or organization whose spend reached its `soft_budget` is logged once
and POSTed to the alert webhook, once per budget window (once a day without a window, LiteLLM's
budget_alert_ttl), off the request path: after a spend flush has stored the spend that crossed it.

The webhook body is LiteLLM's WebhookEvent (`event: "soft_budget_crossed"`, `event_group`, `spend`,
`soft_budget`, `token` = the key's SHA-256, `key_alias`, ...); the secret itself is never known here.
"""
from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone

from apps.core import jsonutil
from apps.teams.models import Organization, SoftBudgetAlert, Team, User, VirtualKey
from apps.teams.snapshot import key_ledger, organization_ledger, team_ledger, user_ledger

logger = logging.getLogger("tollgate.alerts")
ALERT_TTL = timedelta(hours=24)  # without a budget window, a crossing is alerted again after this long
WEBHOOK_TIMEOUT = 5.0


class WebhookEvent(TypedDict):
    """LiteLLM's WebhookEvent (CallInfo + event), as its webhook alerting posts it."""

    event: str
    event_message: str
    event_group: str
    spend: float
    soft_budget: float
    max_budget: float | None
    token: str | None
    key_alias: str | None
    user_id: str | None
    team_id: str | None
    team_alias: str | None
    organization_id: str | None


@dataclass(frozen=True, slots=True)
class Crossing:
    """One level over its soft budget, in its current window."""

    ledger: str
    window_end: datetime | None
    event: WebhookEvent


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _event(group: str, label: str, row: Any, **ids: str | None) -> WebhookEvent:
    message = f"{label} Soft Budget Crossed: spend {row.spend:f} reached soft budget {row.soft_budget:f}"
    event = WebhookEvent(event="soft_budget_crossed", event_message=message, event_group=group,
                         spend=float(row.spend), soft_budget=float(row.soft_budget),
                         max_budget=_money(row.max_budget), token=None, key_alias=None, user_id=None,
                         team_id=None, team_alias=None, organization_id=None)
    event.update(ids)  # type: ignore[typeddict-item]
    return event


def _over(model: type[Model]) -> Any:
    return model._default_manager.filter(soft_budget__isnull=False, spend__gte=F("soft_budget"))


def crossings() -> Iterator[Crossing]:
    """Every key, user, team and organization whose spend is at or over its soft budget."""
    for key in _over(VirtualKey).select_related("team"):
        yield Crossing(key_ledger(key), key.budget_reset_at, _event(
            "key", f"Key {key.key_alias or key.key_name}", key, token=key.token_hash, key_alias=key.key_alias or None,
            user_id=key.user_id, team_id=key.team_id, team_alias=key.team.team_alias if key.team else None))
    for user in _over(User):
        yield Crossing(user_ledger(user), user.budget_reset_at, _event("user", f"User {user.username}", user,
                                                                        user_id=user.username))
    for team in _over(Team):
        yield Crossing(team_ledger(team), team.budget_reset_at, _event(
            "team", f"Team {team.team_alias or team.team_id}", team, team_id=team.team_id,
            team_alias=team.team_alias or None))
    for org in _over(Organization):
        yield Crossing(organization_ledger(org), org.budget_reset_at, _event(
            "organization", f"Organization {org.organization_alias}", org, organization_id=org.organization_id))


def alerted(marker: tuple[datetime | None, datetime] | None, crossing: Crossing, now: datetime) -> bool:
    """Whether a marker (window_end, sent_at) says this crossing was alerted in its window (or within a day)."""
    if marker is None or marker[0] != crossing.window_end:
        return False
    return crossing.window_end is not None or now - marker[1] < ALERT_TTL


def unalerted(crossings: Iterator[Crossing], now: datetime) -> list[Crossing]:
    """The crossings not alerted in their window yet, by one read of the markers per 500 (not a locking
    transaction per crossed row on every flush: a row stays over its soft budget for the rest of its window)."""
    found = list(crossings)
    markers: dict[str, tuple[datetime | None, datetime]] = {}
    for start in range(0, len(found), 500):
        ledgers = [crossing.ledger for crossing in found[start:start + 500]]
        markers.update((ledger, (window_end, sent_at)) for ledger, window_end, sent_at in
                       SoftBudgetAlert.objects.filter(ledger__in=ledgers).values_list("ledger", "window_end", "sent_at"))
    return [crossing for crossing in found if not alerted(markers.get(crossing.ledger), crossing, now)]


def claim(crossing: Crossing, now: datetime) -> bool:
    """Record that this crossing is alerted now; False when it already was in this window (or within a day)."""
    with transaction.atomic():
        marker = SoftBudgetAlert.objects.select_for_update().filter(ledger=crossing.ledger).first()
        if marker is None:
            try:
                with transaction.atomic():
                    SoftBudgetAlert.objects.create(ledger=crossing.ledger, window_end=crossing.window_end,
                                                   sent_at=now)
            except IntegrityError:
                return False  # another flusher claimed it first
            return True
        if alerted((marker.window_end, marker.sent_at), crossing, now):
            return False
        marker.window_end, marker.sent_at = crossing.window_end, now
        marker.save(update_fields=["window_end", "sent_at"])
        return True


def webhook_post(url: str, event: WebhookEvent) -> bool:
    """POST the event as JSON; False (logged) when the webhook cannot be reached or answers an error."""
    request = urllib.request.Request(url, data=jsonutil.dumps(event), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310 - http(s) only
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as error:
        logger.warning("soft budget webhook failed: %s", error)
        return False


def soft_budget_alerts(*, now: datetime | None = None) -> int:
    """Alert every level that crossed its soft budget and was not alerted in this window; how many were."""
    now = now or timezone.now()
    url = settings.TOLLGATE_ALERT_WEBHOOK_URL
    sent = 0
    for crossing in unalerted(crossings(), now):
        if not claim(crossing, now):  # the lock decides between flushers racing for one crossing
            continue
        logger.warning("%s", crossing.event["event_message"])
        if url and not webhook_post(url, crossing.event):
            SoftBudgetAlert.objects.filter(ledger=crossing.ledger).delete()  # try again after the next flush
            continue
        sent += 1
    return sent


def soft_budget_alerts_quietly() -> int:
    """`soft_budget_alerts` for background loops: a failure is logged, never raised."""
    try:
        return soft_budget_alerts()
    except Exception:  # noqa: BLE001 - alerts must never stop the spend flush
        logger.warning("soft budget alerts failed", exc_info=True)
        return 0
