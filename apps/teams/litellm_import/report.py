"""What an import did, per LiteLLM table: rows created, updated, unchanged, and skipped with the reason."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(slots=True)
class TableReport:
    """Counts for one source table; `skipped` holds (row id, reason) pairs."""

    table: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # imported, but not exactly as LiteLLM had it

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def skip(self, row_id: str, reason: str) -> None:
        self.skipped.append((row_id, reason))

    def note(self, row_id: str, what: str) -> None:
        self.notes.append((row_id, what))

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def line(self) -> str:
        return (f"{self.table}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.skipped)} skipped")


@dataclass(slots=True)
class ImportReport:
    """One TableReport per source table, in import order."""

    tables: dict[str, TableReport] = field(default_factory=dict)

    def table(self, name: str) -> TableReport:
        """The report of table `name` (made on first use)."""
        return self.tables.setdefault(name, TableReport(name))

    @property
    def changed(self) -> bool:
        return any(table.changed for table in self.tables.values())

    def lines(self) -> list[str]:
        """The report as text: one line per table, then one per skipped row with its reason."""
        out = [table.line() for table in self.tables.values()]
        for table in self.tables.values():
            out += [f"  skipped {table.table} {row_id}: {reason}" for row_id, reason in table.skipped]
            out += [f"  note {table.table} {row_id}: {what}" for row_id, what in table.notes]
        return out

    def as_dict(self) -> dict[str, dict[str, object]]:
        return {name: {"created": t.created, "updated": t.updated, "unchanged": t.unchanged,
                       "skipped": [list(pair) for pair in t.skipped], "notes": [list(pair) for pair in t.notes]}
                for name, t in self.tables.items()}
