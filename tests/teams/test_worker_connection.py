"""A real Celery worker keeps one PostgreSQL connection across its spend flushes (Celery's Django fixup would
open one per task, a backend fork each), and replaces a connection the server dropped without failing a task."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.teams.models import SpendLog, VirtualKey
from tests.conftest import ROOT, database_url
from tests.teams.conftest import Cast, buffer, spend_event

pytestmark = pytest.mark.skipif(
    not (settings.REDIS_URL and os.environ.get("DATABASE_URL", "").startswith("postgres")),
    reason="a Celery worker needs the Redis broker; backends are PostgreSQL's")
APP_NAME = f"tollgate-test-worker-{os.getpid()}"  # libpq reads PGAPPNAME: the worker's backends carry it


@contextmanager
def celery_worker(log_path: Path) -> Iterator[None]:
    """The worker `serve` runs (prefork, one process, embedded beat), flushing spend every 0.2 s."""
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL or "",
           "TOLLGATE_SPEND_FLUSH_EVERY": "0.2", "PGAPPNAME": APP_NAME}
    with log_path.open("wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "gatewaysite", "worker", "--beat",
                                   "--concurrency", "1", "-s", str(log_path.parent / "beat-schedule"),
                                   "--loglevel", "INFO"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def worker_backends() -> list[int]:
    """The pids of the PostgreSQL backends serving the worker."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid", [APP_NAME])
        return [pid for (pid,) in cursor.fetchall()]


def flushed_by_the_worker(key: VirtualKey, request_id: str, log_path: Path) -> None:
    """Buffer one spend event and wait for the worker (not this process) to store it."""
    buffer(spend_event(request_id, key, "0.01"))
    deadline = time.monotonic() + 60
    while not SpendLog.objects.filter(request_id=request_id).exists():
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.05)


def test_the_worker_keeps_one_connection_across_flushes(cast: Cast, tmp_path: Path) -> None:
    assert cast.bob.key is not None
    log_path = tmp_path / "celery.log"
    seen = []
    with celery_worker(log_path):
        for n in range(4):
            flushed_by_the_worker(cast.bob.key, f"req-{n}", log_path)
            seen.append(worker_backends())
    assert len(seen[0]) == 1 and seen == [seen[0]] * 4, seen


def test_a_connection_the_server_dropped_is_replaced_without_a_failed_task(cast: Cast, tmp_path: Path) -> None:
    assert cast.bob.key is not None
    log_path = tmp_path / "celery.log"
    with celery_worker(log_path):
        flushed_by_the_worker(cast.bob.key, "before", log_path)
        [dropped] = worker_backends()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
        flushed_by_the_worker(cast.bob.key, "after", log_path)
        replacement = worker_backends()
    assert len(replacement) == 1 and replacement != [dropped]
    assert "raised unexpected" not in log_path.read_text()  # no task failed on the dropped connection
