"""`manage.py ensure_database` creates a missing PostgreSQL database, once."""
from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from apps.core.management.commands.ensure_database import ensure_postgres_database


@pytest.mark.skipif(not settings.DATABASE_URL, reason="PostgreSQL only")
def test_missing_database_is_created_once(db: None) -> None:
    target = {**connection.settings_dict, "NAME": "tollgate_ensure_db_test"}
    admin = {"dbname": "postgres", "host": target["HOST"] or "127.0.0.1", "port": target["PORT"] or 5432,
             "user": target["USER"]}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS tollgate_ensure_db_test")
    try:
        assert ensure_postgres_database(target) is True
        assert ensure_postgres_database(target) is False
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS tollgate_ensure_db_test")
