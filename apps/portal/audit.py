"""Audit receivers: every save or delete of a gateway row inside an audit scope becomes an AuditLog row.

They hang on the models' signals, so the services of apps/teams and apps/routing (which the admin, the portal
and the management API all call) and the admin's own saves are covered alike. A row holds the fields that
changed (all of them on create and delete) as JSON. Secrets never reach it: a key is stored as its SHA-256
already, passwords and encrypted provider keys are written as "(set)" or "(changed)".
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from apps.core.audit_context import audit_scope
from apps.portal.models import AuditLog
from apps.routing.models import Deployment, RouterSettings
from apps.teams.models import (Budget, EndUser, Organization, OrganizationMembership, ProxyBudget, Team,
                               TeamMembership, User, VirtualKey)

AUDITED: tuple[type[models.Model], ...] = (VirtualKey, Team, TeamMembership, User, Organization,
                                           OrganizationMembership, Budget, EndUser, ProxyBudget, Deployment,
                                           RouterSettings)
SECRET_FIELDS = frozenset({"password", "api_key_encrypted"})
IGNORED_FIELDS = frozenset({"updated_at", "last_login"})
BEFORE = "_tollgate_audit_before"


def plain(value: Any) -> Any:
    """A JSON-safe copy of a field value."""
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")  # 50, 1.5, 0.000001: no exponent, no padding zeros
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


def row_fields(row: models.Model) -> dict[str, Any]:
    """The row's concrete fields as JSON values (secrets too: `masked` hides them before anything is stored)."""
    return {field.name: plain(field.value_from_object(row)) for field in row._meta.concrete_fields
            if field.name not in IGNORED_FIELDS}


def masked(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields with each secret replaced by whether it is set."""
    return {name: ("(set)" if value else "") if name in SECRET_FIELDS else value for name, value in fields.items()}


def object_id(row: models.Model) -> str:
    """How the log names the row: a key by its alias and hash, anything else by its public id or pk."""
    if isinstance(row, VirtualKey):
        return f"{row.key_alias} {row.token_hash}".strip()
    for name in ("team_id", "organization_id", "budget_id", "username", "user_id"):
        value = row.__dict__.get(name)
        if isinstance(value, str) and value and not isinstance(row, (TeamMembership, OrganizationMembership)):
            return value
    return str(row.pk)


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    names = [name for name in after if before.get(name) != after[name]]
    masked = [name for name in names if name in SECRET_FIELDS]
    old = {name: before.get(name) for name in names}
    new = {name: after[name] for name in names}
    for name in masked:  # a secret's change is recorded, never its value
        old[name], new[name] = "(set)" if before.get(name) else "", "(changed)" if after[name] else ""
    return old, new


def record(row: models.Model, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    scope = audit_scope()
    if scope is None or not scope.actor:
        return
    AuditLog.objects.create(actor=scope.actor[:300], via=scope.via, action=action, request_id=scope.request_id,
                            object_type=row._meta.label_lower, object_id=object_id(row)[:300],
                            object_repr=str(row)[:300], before=before, after=after)


def before_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **kwargs: Any) -> None:
    if raw or audit_scope() is None or instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    setattr(instance, BEFORE, row_fields(old) if old is not None else None)


def after_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False,
               **kwargs: Any) -> None:
    if raw or audit_scope() is None:
        return
    after = row_fields(instance)
    before = instance.__dict__.pop(BEFORE, None)
    if created or before is None:
        record(instance, AuditLog.Action.CREATED, {}, masked(after))
        return
    old, new = changed(before, after)
    if new:
        record(instance, AuditLog.Action.UPDATED, old, new)


def after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if audit_scope() is not None:
        record(instance, AuditLog.Action.DELETED, masked(row_fields(instance)), {})


def connect() -> None:
    """Hang the receivers on every audited model."""
    for model in AUDITED:
        uid = f"audit-{model._meta.label_lower}"
        pre_save.connect(before_save, sender=model, dispatch_uid=uid)
        post_save.connect(after_save, sender=model, dispatch_uid=uid)
        post_delete.connect(after_delete, sender=model, dispatch_uid=uid)
