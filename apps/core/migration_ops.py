"""Migration operations for zero-downtime upgrades on PostgreSQL that still run on the embedded SQLite default."""
from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.contrib.postgres.operations import RemoveIndexConcurrently as PostgresRemoveIndexConcurrently
from django.db.migrations.operations import AddConstraint, AddIndex, RemoveConstraint, RemoveIndex


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



def create_unique_index_concurrently(constraint: Any, model: Any, schema_editor: Any) -> None:
    """A conditional `UniqueConstraint`'s index, built with `CREATE UNIQUE INDEX CONCURRENTLY` (PostgreSQL)."""
    sql = str(constraint.create_sql(model, schema_editor))
    assert sql.startswith("CREATE UNIQUE INDEX "), f"{constraint.name} is not a partial unique index"
    schema_editor.execute(sql.replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX CONCURRENTLY ", 1))


def drop_index_concurrently(name: str, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class AddConstraintConcurrently(AddConstraint):
    """A conditional `UniqueConstraint` (a partial unique index) built with `CREATE UNIQUE INDEX CONCURRENTLY` on
    PostgreSQL, so the table keeps taking writes while it builds (the migration sets `atomic = False`); as
    `AddConstraint` elsewhere. Other constraints are table constraints, which PostgreSQL cannot add concurrently."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        create_unique_index_concurrently(self.constraint, to_state.apps.get_model(app_label, self.model_name),
                                         schema_editor)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        drop_index_concurrently(self.constraint.name, schema_editor)


class RemoveConstraintConcurrently(RemoveConstraint):
    """A partial unique index's constraint dropped with `DROP INDEX CONCURRENTLY` on PostgreSQL (the migration
    sets `atomic = False`); as `RemoveConstraint` elsewhere."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        drop_index_concurrently(self.name, schema_editor)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        constraint = to_state.models[app_label, self.model_name_lower].get_constraint_by_name(self.name)
        create_unique_index_concurrently(constraint, to_state.apps.get_model(app_label, self.model_name),
                                         schema_editor)
