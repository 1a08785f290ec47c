"""Stored responses in the database: saved when a `/v1/responses` call is answered, read by GET and by the next
turn's `previous_response_id`, owned by the key (and team) that made them.

Each function is one query, run off the event loop in a pool thread. A response is saved before its answer
(or its stream's final event) goes out, so it can be read from any replica as soon as the client has it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db.models import Q

from apps.core.snapshots import with_fresh_connection
from apps.routing.responses_model import StoredResponse
from apps.teams.auth import Principal

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One stored response, as the call flows read and write it."""

    response_id: str
    key_id: int | None
    team_id: str
    model_group: str
    deployment_id: str
    provider: str
    upstream_id: str
    previous_response_id: str
    body: dict[str, Any]
    input_items: list[dict[str, Any]]
    context: list[dict[str, Any]]
    created_at: datetime | None = None  # set once it is stored

    @property
    def status(self) -> str:
        return str(self.body.get("status") or "completed")

    @property
    def passed_through(self) -> bool:
        """Made by a provider that has the Responses API (which holds it too)."""
        return bool(self.upstream_id)


def owner(principal: Principal) -> tuple[int | None, str]:
    """(key id, team id) a response made by `principal` is stored under."""
    key = principal.key
    return (key.id, key.team_id or "") if key is not None else (None, "")


def visible_to(principal: Principal) -> Q:
    """The stored responses a caller may read and delete: the master key all, a key its own and its team's."""
    key = principal.key
    if principal.is_master or key is None:
        return Q()
    mine = Q(key_id=key.id)
    return mine | Q(team_id=key.team_id) if key.team_id else mine


def as_record(row: StoredResponse) -> ResponseRecord:
    return ResponseRecord(response_id=row.response_id, key_id=row.key_id, team_id=row.team_id,
                          model_group=row.model_group, deployment_id=row.deployment_id, provider=row.provider,
                          upstream_id=row.upstream_id, previous_response_id=row.previous_response_id, body=row.body,
                          input_items=row.input_items, context=row.context, created_at=row.created_at)


def response_save(record: ResponseRecord) -> None:
    """One INSERT (a fresh id each time): no read first, so SQLite never has to upgrade a read lock to write."""
    StoredResponse.objects.create(
        response_id=record.response_id, key_id=record.key_id, team_id=record.team_id, model_group=record.model_group,
        deployment_id=record.deployment_id, provider=record.provider, upstream_id=record.upstream_id,
        previous_response_id=record.previous_response_id, status=record.status, body=record.body,
        input_items=record.input_items, context=record.context)


def response_find(response_id: str, principal: Principal) -> ResponseRecord | None:
    row = StoredResponse.objects.filter(visible_to(principal), response_id=response_id).first()
    return as_record(row) if row is not None else None


def response_delete(response_id: str) -> None:
    StoredResponse.objects.filter(response_id=response_id).delete()


def response_body_set(response_id: str, body: dict[str, Any]) -> None:
    StoredResponse.objects.filter(response_id=response_id).update(body=body, status=str(body.get("status") or ""))


RUNNING = ("queued", "in_progress")  # a background response's statuses before it ends


def response_running_set(response_id: str, body: dict[str, Any], context: list[dict[str, Any]] | None) -> bool:
    """Store a background response's new body only while it is still running (one conditional UPDATE): whether
    this call wrote it. The first writer of an ending status wins, so a cancel and a completion never both land."""
    fields: dict[str, Any] = {"body": body, "status": str(body.get("status") or "")}
    if context is not None:
        fields["context"] = context
    return StoredResponse.objects.filter(response_id=response_id, status__in=RUNNING).update(**fields) == 1


def responses_running_over_chat(created_before: datetime) -> list[tuple[str, dict[str, Any]]]:
    """(id, body) of the background responses served over chat still running, made before `created_before`."""
    rows = StoredResponse.objects.filter(status__in=RUNNING, upstream_id="", created_at__lt=created_before)
    return list(rows.order_by("created_at").values_list("response_id", "body"))


def response_status(response_id: str) -> str | None:
    return StoredResponse.objects.filter(response_id=response_id).values_list("status", flat=True).first()


def response_body(response_id: str) -> dict[str, Any] | None:
    return StoredResponse.objects.filter(response_id=response_id).values_list("body", flat=True).first()


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run one store function in a pool thread, on a live connection."""
    return await sync_to_async(with_fresh_connection(function), thread_sensitive=False)(*args)


async def find(response_id: str, principal: Principal) -> ResponseRecord | None:
    """The stored response `response_id`, if the caller may see it."""
    return await in_thread(response_find, response_id, principal)


async def save(record: ResponseRecord) -> None:
    await in_thread(response_save, record)


async def delete(response_id: str) -> None:
    await in_thread(response_delete, response_id)


async def body_set(response_id: str, body: dict[str, Any]) -> None:
    await in_thread(response_body_set, response_id, body)


async def running_set(response_id: str, body: dict[str, Any], context: list[dict[str, Any]] | None = None) -> bool:
    return await in_thread(response_running_set, response_id, body, context)


async def status_of(response_id: str) -> str | None:
    return await in_thread(response_status, response_id)


async def body_of(response_id: str) -> dict[str, Any] | None:
    return await in_thread(response_body, response_id)
