"""Expand-then-contract: can the code of the release before a migration still use the schema after it?

During a rolling upgrade, replicas of release N-1 keep serving while release N's migration job has already run.
A migration is safe for that when every model of the state just before it (the previous code's models, as the
migration graph records them) can still insert, read, update and delete rows in the newest schema.
`previous_code_problems` checks exactly that with Django's historical models, one row per model, inside a
transaction it rolls back. It complements `django-migration-linter`, which reads the SQL for dangerous operations
(a dropped or renamed column, a NOT NULL column without a default, an index built under a lock).
"""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps.registry import Apps
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.migrations.loader import MigrationLoader


class _RolledBack(Exception):
    """Raised to leave the probe's transaction without keeping its rows."""


@dataclass(frozen=True)
class Problem:
    migration: str  # "app.0005_name": the migration the older code could not live with
    model: str
    error: str


def sample_value(field: models.Field[Any, Any], made: dict[type[models.Model], models.Model], apps: Apps) -> Any:
    """A value the field accepts; a foreign key gets a row of its own (made once per model)."""
    if field.is_relation:
        if field.null:
            return None
        related = field.related_model
        assert isinstance(related, type)
        return made.get(related) or sample_row(related, made, apps)
    if field.choices:
        return next(iter(field.flatchoices))[0]
    unique = uuid.uuid4().hex
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, (models.CharField, models.TextField, models.SlugField)):
        return unique[: field.max_length or None]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return 1
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(0)
    if isinstance(field, models.DateTimeField):
        return dt.datetime.now(dt.timezone.utc)
    if isinstance(field, models.DateField):
        return dt.date.today()
    if isinstance(field, models.DurationField):
        return dt.timedelta(seconds=1)
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b"x"
    return None


def needs_value(field: models.Field[Any, Any]) -> bool:
    return not (field.auto_created or isinstance(field, models.AutoField) or field.has_default()
                or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def sample_row(model: type[models.Model], made: dict[type[models.Model], models.Model], apps: Apps) -> models.Model:
    values = {field.name: sample_value(field, made, apps) for field in model._meta.concrete_fields
              if needs_value(field)}
    row = model._default_manager.create(**values)
    made[model] = row
    return row


def own_constraint_refused(model: type[models.Model], error: IntegrityError) -> bool:
    """The insert broke a constraint the historical model itself declares (a singleton's check, say): a rule of
    the older code, not something the newer schema took away."""
    names = [constraint.name for constraint in model._meta.constraints]
    return any(name and name in str(error) for name in names)


def inserted_or_existing(model: type[models.Model], apps: Apps) -> models.Model | None:
    """A new sample row; or, when the model's own constraint refuses one, its existing row (None if it has none:
    the reads and writes below still name every column, matching no row)."""
    made: dict[type[models.Model], models.Model] = {}
    try:
        with transaction.atomic():
            return sample_row(model, made, apps)
    except IntegrityError as error:
        if not own_constraint_refused(model, error):
            raise
        return model._default_manager.first()


def exercise(model: type[models.Model], apps: Apps) -> None:
    """Insert, read back, update and delete one row of a historical model: every statement names the columns the
    older code knows."""
    row = inserted_or_existing(model, apps)
    pk = row.pk if row is not None else None
    list(model._default_manager.filter(pk=pk).values())
    editable = [f for f in model._meta.concrete_fields if not f.primary_key and needs_value(f) and not f.is_relation]
    if editable:
        model._default_manager.filter(pk=pk).update(**{editable[0].name: sample_value(editable[0], {}, apps)})
    if row is not None:
        model._default_manager.get(pk=pk)
        model._default_manager.filter(pk=pk).delete()


def previous_code_problems(app_labels: Iterable[str], *, contract_points: dict[str, str]) -> list[Problem]:
    """For every migration of these apps after the app's last contract point: the models just before it, used
    on the newest schema.

    A contract point is a migration that was allowed to break older code (it drops what a release before it
    stopped using, or it predates this rule); code from before it is not expected to run on today's schema, so
    the check starts after it. Without one, every migration but the first is checked.
    """
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    labels = set(app_labels)
    problems = []
    for app_label, name in sorted(loader.disk_migrations):
        if app_label not in labels or name.startswith("0001_") or name <= contract_points.get(app_label, ""):
            continue
        apps = loader.project_state((app_label, name), at_end=False).apps
        for model in apps.get_app_config(app_label).get_models():
            try:
                with transaction.atomic():
                    exercise(model, apps)
                    raise _RolledBack
            except _RolledBack:
                pass
            except (DatabaseError, ValueError, TypeError) as error:
                problems.append(Problem(f"{app_label}.{name}", model.__name__, f"{type(error).__name__}: {error}"))
    return problems
