"""Migration operations for zero-downtime upgrades on PostgreSQL that still run on the embedded SQLite default."""
from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.contrib.postgres.operations import RemoveIndexConcurrently as PostgresRemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex


class PlainOffPostgreSQL:
    """The database steps of `postgres` on PostgreSQL and of `plain` elsewhere (the state steps are shared)."""

    postgres: Any
    plain: Any

    def side(self, schema_editor: Any) -> Any:
        return self.postgres if schema_editor.connection.vendor == "postgresql" else self.plain

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self.side(schema_editor).database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self.side(schema_editor).database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrently(PlainOffPostgreSQL, PostgresAddIndexConcurrently):
    """`CREATE INDEX CONCURRENTLY` on PostgreSQL, so a busy table keeps taking writes while the index builds (the
    migration sets `atomic = False`); a plain `CREATE INDEX` elsewhere."""

    postgres, plain = PostgresAddIndexConcurrently, AddIndex


class RemoveIndexConcurrently(PlainOffPostgreSQL, PostgresRemoveIndexConcurrently):
    """`DROP INDEX CONCURRENTLY` on PostgreSQL (the migration sets `atomic = False`); a plain drop elsewhere."""

    postgres, plain = PostgresRemoveIndexConcurrently, RemoveIndex
