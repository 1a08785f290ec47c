"""Push deliveries kept in the database (the ORM side of apps.agents.push): owed when a task ends, claimed one
attempt at a time (so two replicas never send the same attempt), settled as delivered, due again, or given up."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from apps.agents.wire import Json, Task, task_down


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt's worth of a delivery: where, with which headers, what, and how many attempts so far."""

    id: int
    task_id: str
    url: str
    headers: dict[str, str]
    body: Json
    attempts: int


def push_headers(config: Json) -> dict[str, str]:
    """The config's token (A2A's X-A2A-Notification-Token) and its authentication as an Authorization header."""
    headers = {"x-a2a-notification-token": config["token"]} if config.get("token") else {}
    auth = config.get("authentication") or {}
    if auth.get("credentials"):
        headers["authorization"] = f"{auth.get('scheme') or 'Bearer'} {auth['credentials']}"
    return headers


def push_body(task: Task, config: Json) -> Json:
    """1.0: a StreamResponse `{"task": ...}`; a config set over 0.3: the 0.3 Task."""
    return task_down(task) if config.get("version") == "0.3" else {"task": task}


def deliveries_schedule(*, task: Task, now: datetime) -> list[int]:
    """A delivery due now for each of the task's push configs; their ids (none: one SELECT, nothing written)."""
    from apps.agents.models import AgentPushConfig, AgentPushDelivery

    configs = list(AgentPushConfig.objects.filter(task_id=task["id"]).order_by("config_id")
                   .values_list("config", flat=True))
    if not configs:
        return []
    rows = AgentPushDelivery.objects.bulk_create([
        AgentPushDelivery(task_id=task["id"], config_id=config.get("id", ""), url=config["url"],
                          headers=push_headers(config), body=push_body(task, config), next_attempt_at=now)
        for config in configs])
    return [row.pk for row in rows]


def delivery_claim(*, delivery_id: int, now: datetime, lease: timedelta) -> Delivery | None:
    """Take the next attempt of a delivery that is due (it stays ours for `lease`); None if it is not due."""
    from apps.agents.models import AgentPushDelivery

    with transaction.atomic():
        claimed = AgentPushDelivery.objects.filter(pk=delivery_id, delivered_at__isnull=True,
                                                   next_attempt_at__lte=now).update(
            next_attempt_at=now + lease, attempts=F("attempts") + 1)
        if not claimed:
            return None
        row = AgentPushDelivery.objects.get(pk=delivery_id)
    return Delivery(id=row.pk, task_id=row.task_id, url=row.url, headers=dict(row.headers), body=row.body,
                    attempts=row.attempts)


def delivery_settle(*, delivery_id: int, delivered_at: datetime | None, retry_at: datetime | None,
                    error: str) -> None:
    """After an attempt: delivered, due again at `retry_at`, or (neither) given up."""
    from apps.agents.models import AgentPushDelivery

    settled: dict[str, object] = {} if retry_at is not None else {"headers": {}}  # no credential is kept once nothing is owed
    AgentPushDelivery.objects.filter(pk=delivery_id).update(delivered_at=delivered_at, next_attempt_at=retry_at,
                                                            last_error=error[:300], **settled)


def deliveries_prune(*, before: datetime, limit: int = 1000) -> int:
    """Delete up to `limit` settled deliveries (delivered or given up) created before `before`; how many."""
    from apps.agents.models import AgentPushDelivery

    ids = list(AgentPushDelivery.objects.filter(next_attempt_at__isnull=True, created_at__lt=before)
               .order_by("created_at").values_list("pk", flat=True)[:limit])
    return AgentPushDelivery.objects.filter(pk__in=ids).delete()[0] if ids else 0


def deliveries_due(*, now: datetime, limit: int = 200) -> list[int]:
    """Deliveries whose next attempt is due (a retry's time has come, or a claimer went away), oldest first."""
    from apps.agents.models import AgentPushDelivery

    return list(AgentPushDelivery.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
                .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
