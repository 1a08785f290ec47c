"""Audit receivers: every save or delete of a gateway row inside an audit scope becomes an AuditLog row.

They hang on the models' signals, so the services of apps/teams and apps/routing (which the admin, the portal
and the management API all call) and the admin's own saves are covered alike. A row holds the fields that
changed (all of them on create and delete) as JSON. Secrets never reach it: a key is stored as its SHA-256
already, passwords and encrypted provider keys are written as "(set)" or "(changed)", and the secret values of
settings columns (`apps.core.secret_params`: provider params, callback destinations, agents) as ******** or
"(changed)".
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.contrib.auth.models import Group
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from apps.core.audit_context import audit_scope
from apps.core.secret_params import SealedJSONField, redacted, redacted_against
from apps.agents.models import Agent, AgentPushConfig
from apps.portal.models import AuditLog
from apps.routing.models import Deployment, RouterSettings, SearchTool
from apps.teams.models import (Budget, EndUser, LogCallback, Organization, OrganizationMembership, ProxyBudget, Team,
                               TeamMembership, User, VirtualKey)

AUDITED: tuple[type[models.Model], ...] = (VirtualKey, Team, TeamMembership, User, Organization,
                                           OrganizationMembership, Budget, EndUser, ProxyBudget, Deployment,
                                           RouterSettings, SearchTool, LogCallback, Agent, AgentPushConfig, Group)
SECRET_FIELDS = frozenset({"password", "api_key_encrypted"})
IGNORED_FIELDS = frozenset({"updated_at", "last_login"})
BEFORE = "_tollgate_audit_before"
BEFORE_SET = "_tollgate_audit_before_set"


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


def sealed_names(row: models.Model) -> frozenset[str]:
    """The row's settings columns whose secret-named values are sealed (and must be masked here too)."""
    return frozenset(f.name for f in row._meta.concrete_fields if isinstance(f, SealedJSONField))


def masked(fields: dict[str, Any], sealed: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields with each secret replaced by whether it is set (inside settings columns: MASK)."""
    return {name: ("(set)" if value else "") if name in SECRET_FIELDS else redacted(value) if name in sealed else value
            for name, value in fields.items()}


def object_id(row: models.Model) -> str:
    """How the log names the row: a key by its alias and hash, anything else by its public id or pk."""
    if isinstance(row, VirtualKey):
        return f"{row.key_alias} {row.token_hash}".strip()
    for name in ("team_id", "organization_id", "budget_id", "username", "user_id"):
        value = row.__dict__.get(name)
        if isinstance(value, str) and value and not isinstance(row, (TeamMembership, OrganizationMembership)):
            return value
    return str(row.pk)


def changed(before: dict[str, Any], after: dict[str, Any],
            sealed: frozenset[str] = frozenset()) -> tuple[dict[str, Any], dict[str, Any]]:
    names = [name for name in after if before.get(name) != after[name]]
    old = {name: before.get(name) for name in names}
    new = {name: after[name] for name in names}
    for name in names:  # a secret's change is recorded, never its value
        if name in SECRET_FIELDS:
            old[name], new[name] = "(set)" if before.get(name) else "", "(changed)" if after[name] else ""
        elif name in sealed:
            old[name], new[name] = redacted(before.get(name)), redacted_against(after[name], before.get(name))
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
        record(instance, AuditLog.Action.CREATED, {}, masked(after, sealed_names(instance)))
        return
    old, new = changed(before, after, sealed_names(instance))
    if new:
        record(instance, AuditLog.Action.UPDATED, old, new)


def after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if audit_scope() is not None:
        record(instance, AuditLog.Action.DELETED, masked(row_fields(instance), sealed_names(instance)), {})


# Many-to-many sets that change what someone may do: a group's permissions, a user's groups and permissions.
AUDITED_SETS = {Group.permissions.through: (Group, "permissions"), User.groups.through: (User, "groups"),
                User.user_permissions.through: (User, "user_permissions")}


def _set_names(row: models.Model, name: str) -> list[str]:
    return sorted(str(item) for item in getattr(row, name).all())


def set_changed(sender: Any, instance: models.Model, action: str, **kwargs: Any) -> None:
    """A change of an audited set, with the whole set before and after (recorded from the side that owns it)."""
    owner, name = AUDITED_SETS[sender]
    if audit_scope() is None or not isinstance(instance, owner):
        return
    if action in ("pre_add", "pre_remove", "pre_clear"):
        setattr(instance, BEFORE_SET, _set_names(instance, name))
    elif action in ("post_add", "post_remove", "post_clear"):
        before, after = instance.__dict__.pop(BEFORE_SET, []), _set_names(instance, name)
        if before != after:
            record(instance, AuditLog.Action.UPDATED, {name: before}, {name: after})


def connect() -> None:
    """Hang the receivers on every audited model."""
    for model in AUDITED:
        uid = f"audit-{model._meta.label_lower}"
        pre_save.connect(before_save, sender=model, dispatch_uid=uid)
        post_save.connect(after_save, sender=model, dispatch_uid=uid)
        post_delete.connect(after_delete, sender=model, dispatch_uid=uid)
    for through in AUDITED_SETS:
        m2m_changed.connect(set_changed, sender=through, dispatch_uid=f"audit-{through._meta.label_lower}")
