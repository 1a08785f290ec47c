"""Read a LiteLLM proxy database with plain SQL in one read-only transaction (psycopg); nothing is written there."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

# Each table LiteLLM's schema.prisma declares that the import reads, with the columns that order it.
TABLES: dict[str, tuple[str, ...]] = {
    "LiteLLM_ModelTable": ("id",),  # a team's model aliases
    "LiteLLM_ObjectPermissionTable": ("object_permission_id",),
    "LiteLLM_BudgetTable": ("budget_id",),
    "LiteLLM_OrganizationTable": ("organization_id",),
    "LiteLLM_UserTable": ("user_id",),
    "LiteLLM_TeamTable": ("team_id",),
    "LiteLLM_TeamMembership": ("team_id", "user_id"),
    "LiteLLM_OrganizationMembership": ("organization_id", "user_id"),
    "LiteLLM_EndUserTable": ("user_id",),
    "LiteLLM_VerificationToken": ("created_at", "token"),  # the oldest holder of a shared alias keeps it
    "LiteLLM_SpendLogs": ("startTime", "request_id"),
    "LiteLLM_ProxyModelTable": ("model_id",),
}
Row = dict[str, Any]


class SourceError(Exception):
    """The LiteLLM database cannot be read (the message names why, never a password)."""


class LiteLLMReader:
    """Rows of a LiteLLM database, one table at a time, ordered by its key."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn
        present = conn.execute("SELECT table_name FROM information_schema.tables "
                               "WHERE table_schema = current_schema()").fetchall()
        self._present = {row["table_name"] for row in present}

    def has(self, table: str) -> bool:
        return table in self._present

    def rows(self, table: str, *, batch: int = 2000) -> Iterator[Row]:
        """Every row of `table` (none when this LiteLLM version has no such table), streamed in batches."""
        if not self.has(table):
            return
        query = sql.SQL("SELECT * FROM {} ORDER BY {}").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in TABLES[table]))
        with self._conn.cursor(name=f"read_{table.lower()}") as cursor:
            cursor.itersize = batch
            yield from cursor.execute(query)


@contextmanager
def litellm_reader(database_url: str) -> Iterator[LiteLLMReader]:
    """A reader on `database_url` inside one READ ONLY, REPEATABLE READ transaction (a consistent snapshot)."""
    try:
        conn = psycopg.connect(database_url, row_factory=dict_row, connect_timeout=10)
    except psycopg.Error as exc:
        # psycopg's message names the host, port and user, never the password.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"cannot connect to the LiteLLM database: {reason}") from None
    with conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            yield LiteLLMReader(conn)
        finally:
            conn.rollback()
