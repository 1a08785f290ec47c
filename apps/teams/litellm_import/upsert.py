"""One idempotent write: find a row by its LiteLLM id, create it or change only the fields that differ.

The import writes rows as LiteLLM has them (hashes, budget windows, timestamps, spend), which the services
that mint secrets and start new windows must not do, so it writes through the ORM here and keeps the
services' two duties: the live spend counter follows a changed spend, and the key snapshot moves on commit.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models, transaction

from apps.core.state import state
from apps.teams.costing import to_nanos
from apps.teams.litellm_import.report import Outcome

M = TypeVar("M", bound=models.Model)
# Columns Django fills itself on save; the import sets them afterwards with an UPDATE when LiteLLM has them.
STAMPS = ("created_at",)


@dataclass(frozen=True, slots=True)
class Written:
    """What one upsert did, and the row as it now stands."""

    outcome: Outcome
    row: models.Model


def _same(current: Any, wanted: Any) -> bool:
    """Equal as stored: JSON lists come back as lists, so a tuple compares as one."""
    if isinstance(wanted, tuple):
        wanted = list(wanted)
    return bool(current == wanted)


def _set_stamps(row: models.Model, stamps: Mapping[str, Any]) -> bool:
    changed = {name: value for name, value in stamps.items()
               if value is not None and not _same(getattr(row, name), value)}
    if changed:
        type(row)._default_manager.filter(pk=row.pk).update(**changed)
        for name, value in changed.items():
            setattr(row, name, value)
    return bool(changed)


def upsert(model: type[M], *, lookup: Mapping[str, Any], fields: Mapping[str, Any],
           stamps: Mapping[str, Any] | None = None, ledger: Callable[[M], str] | None = None) -> Written:
    """Create the row `lookup` names with `fields`, or bring an existing one to them; a changed spend resets its counter."""
    row = model._default_manager.select_for_update().filter(**lookup).first()
    if row is None:
        row = model(**lookup, **fields)
        row.save()
        _set_stamps(row, stamps or {})
        return Written("created", row)
    changed = [name for name, value in fields.items() if not _same(getattr(row, name), value)]
    for name in changed:
        setattr(row, name, fields[name])
    if changed:
        row.save()
    stamped = _set_stamps(row, stamps or {})
    if "spend" in changed and ledger is not None:
        name, spend = ledger(row), to_nanos(fields["spend"])
        transaction.on_commit(lambda: state().ledger_set_spend(name, spend))
    return Written("updated" if changed or stamped else "unchanged", row)
