"""`manage.py ensure_database`: create the PostgreSQL database DATABASE_URL names when it does not exist yet."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


def ensure_postgres_database(db: Mapping[str, Any]) -> bool:
    """Create `db["NAME"]` through the `postgres` maintenance database; True when it was created."""
    import psycopg
    from psycopg import sql

    params = {"dbname": "postgres", "host": db.get("HOST"), "port": db.get("PORT"), "user": db.get("USER"),
              "password": db.get("PASSWORD")}
    conninfo = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items() if v})
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db["NAME"],)).fetchone() is not None:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
        return True


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database if it is missing (SQLite files are created by migrate)."

    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.DATABASES["default"]
        if "postgresql" in db["ENGINE"] and ensure_postgres_database(db):
            self.stdout.write(f"created database {db['NAME']}")
