"""The concurrent index operations: CONCURRENTLY on PostgreSQL (writes go on while the index builds), a plain
index on SQLite, and both undo cleanly."""
from __future__ import annotations

import pytest
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from apps.core.migration_ops import AddIndexConcurrently, RemoveIndexConcurrently

INDEX = models.Index(fields=["key_alias"], name="rollout_probe_idx")


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "teams_virtualkey"))


def collected_sql(operation: AddIndexConcurrently | RemoveIndexConcurrently, before: ProjectState,
                  after: ProjectState) -> str:
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        operation.database_forwards("teams", editor, before, after)
    return " ".join(editor.collected_sql)


@pytest.mark.django_db(transaction=True)
def test_index_is_built_and_dropped_concurrently_where_the_database_can() -> None:
    state = MigrationLoader(connection).project_state()
    with_index = state.clone()
    add = AddIndexConcurrently("virtualkey", INDEX)
    add.state_forwards("teams", with_index)
    concurrently = connection.vendor == "postgresql"
    assert ("CONCURRENTLY" in collected_sql(add, state, with_index)) is concurrently

    with connection.schema_editor(atomic=False) as editor:
        add.database_forwards("teams", editor, state, with_index)
    try:
        assert INDEX.name in index_names()
        remove = RemoveIndexConcurrently("virtualkey", INDEX.name)
        without = with_index.clone()
        remove.state_forwards("teams", without)
        assert ("CONCURRENTLY" in collected_sql(remove, with_index, without)) is concurrently
        with connection.schema_editor(atomic=False) as editor:
            remove.database_forwards("teams", editor, with_index, without)
        assert INDEX.name not in index_names()
        with connection.schema_editor(atomic=False) as editor:
            remove.database_backwards("teams", editor, without, with_index)
        assert INDEX.name in index_names()
    finally:
        with connection.schema_editor(atomic=False) as editor:
            add.database_backwards("teams", editor, with_index, state)
    assert INDEX.name not in index_names()
