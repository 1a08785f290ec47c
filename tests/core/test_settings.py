"""A bad environment value stops start-up with one line naming the variable."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start_with(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("name", "value", "message"), [
    pytest.param("PORT", "eighty", "PORT must be an integer, got 'eighty'", id="port_case"),
    pytest.param("WORKERS", "0", "WORKERS must be at least 1, got 0", id="workers_case"),
    pytest.param("DATABASE_URL", "mysql://x", "DATABASE_URL must start with one of", id="database_case"),
    pytest.param("REDIS_URL", "localhost:6379", "REDIS_URL must start with one of", id="redis_case"),
    pytest.param("REDIS_URL", "redis+cluster://127.0.0.1:30101", "Celery cannot use a Redis Cluster as its broker: set "
                 "TOLLGATE_CELERY_BROKER_URL", id="cluster_without_broker_case"),
    pytest.param("REDIS_URL", "redis+sentinel://127.0.0.1:26382", "REDIS_URL: a sentinel Redis URL names the master",
                 id="sentinel_without_service_case"),
    pytest.param("DEBUG", "maybe", "DEBUG must be true or false, got 'maybe'", id="debug_case"),
    pytest.param("TOLLGATE_SNAPSHOT_TTL", "soon", "TOLLGATE_SNAPSHOT_TTL must be a number", id="ttl_case"),
    pytest.param("TOLLGATE_REDIS_COMMAND_TIMEOUT", "0", "TOLLGATE_REDIS_COMMAND_TIMEOUT must be at least 0.001, got 0.0",
                 id="redis_command_timeout_case"),
    pytest.param("TOLLGATE_REDIS_HEALTH_CHECK_INTERVAL", "often", "TOLLGATE_REDIS_HEALTH_CHECK_INTERVAL must be a number",
                 id="redis_health_check_case"),
    pytest.param("TOLLGATE_SERVER", "gunicorn", "TOLLGATE_SERVER must be one of uvicorn, granian, got 'gunicorn'",
                 id="server_case"),
])
def test_bad_value_stops_start_up_naming_the_variable(name: str, value: str, message: str) -> None:
    result = start_with(**{name: value})
    assert result.returncode == 2
    assert result.stderr.startswith("tollgate: configuration error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_production_mode_rejects_a_short_secret_key() -> None:
    result = start_with(TOLLGATE_PRODUCTION="1", SECRET_KEY="short")
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 32 characters" in result.stderr


@pytest.mark.parametrize(("env", "expected"), [pytest.param({}, "60 True", id="default_case"),
                                               pytest.param({"TOLLGATE_DB_CONN_MAX_AGE": "300"}, "300 True", id="set_case")])
def test_database_connections_are_kept_for_the_configured_age_and_health_checked(env: dict[str, str],
                                                                                 expected: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k != "TOLLGATE_DB_CONN_MAX_AGE"}
    shown = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c",
                            "from django.conf import settings; db = settings.DATABASES['default'];"
                            "print(db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS'])"],
                           cwd=ROOT, env={**clean, "DATABASE_URL": "postgres://u@127.0.0.1:1/x", **env},
                           capture_output=True, text=True, timeout=60)
    assert shown.stdout.strip() == expected, shown.stderr


@pytest.mark.parametrize("env", [pytest.param({}, id="default_file_case"),
                                 pytest.param({"DATABASE_URL": "sqlite:///var/other.sqlite3"}, id="database_url_case")])
def test_sqlite_writers_wait_for_the_lock_instead_of_failing(env: dict[str, str]) -> None:
    """Racing writers (eight /key/generate at once) got "database is locked" at once when DATABASE_URL named SQLite."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    shown = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c",
                            "from django.conf import settings; o = settings.DATABASES['default']['OPTIONS'];"
                            "print(o['transaction_mode'], o['timeout'])"],
                           cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60)
    assert shown.stdout.strip() == "IMMEDIATE 20", shown.stderr
