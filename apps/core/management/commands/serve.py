"""`manage.py serve`: run the ASGI application with uvicorn (uvloop + httptools) on PORT with WORKERS.

The command replaces itself (exec) with uvicorn's own CLI, so the supervisor process that only watches
the workers never holds Django and the application (it held about 90 MB when it did).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

PR_SET_PDEATHSIG = 1


class Command(BaseCommand):
    help = "Serve the gateway (Channels ProtocolTypeRouter) with uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="0.0.0.0")
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--workers", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"] or settings.PORT
        workers = options["workers"] or settings.WORKERS
        self.stdout.write(f"Tollgate listening on http://{options['host']}:{port} ({workers} worker(s)); "
                          f"admin at /admin/, OpenAI API at /v1")
        self.stdout.flush()
        start_celery()
        argv = [sys.executable, "-m", "uvicorn", "gatewaysite.asgi:application", "--host", options["host"],
                "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
                "--lifespan", "on", "--no-access-log", "--timeout-graceful-shutdown", "30", "--log-level", "warning"]
        os.execv(sys.executable, argv)


def start_celery() -> subprocess.Popen[bytes] | None:
    """With Redis, a Celery worker with beat beside the server (spend flushes, budget resets, probes).

    Embedded, Celery runs tasks eagerly in-process and needs no worker. Set TOLLGATE_RUN_CELERY=0 where
    workers and one beat are deployed separately. The worker gets SIGTERM when the server exits: the
    parent-death signal survives the exec into uvicorn.
    """
    if not settings.REDIS_URL or not settings.TOLLGATE_RUN_CELERY:
        return None
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "gatewaysite", "worker", "--beat",
                             "--loglevel", "WARNING", "--concurrency", "1"], preexec_fn=die_with_parent)


def die_with_parent() -> None:
    """In the child: get SIGTERM when the server process exits, however it exits."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: stop the worker yourself (or run it apart, TOLLGATE_RUN_CELERY=0)
