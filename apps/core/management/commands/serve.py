"""`manage.py serve`: run the ASGI application on PORT with WORKERS, under uvicorn or granian.

`TOLLGATE_SERVER` (or `--server`) picks the server: uvicorn (uvloop + httptools) or granian (its Rust
HTTP/1.1 stack, uvloop). The command replaces itself (exec) with the server's own CLI, so the supervisor
process that only watches the workers never holds Django and the application (it held about 90 MB when
it did). Both get the same contract: lifespan on (spend flusher, gc.freeze), no access log, SIGTERM
drains open calls for up to TOLLGATE_SHUTDOWN_GRACE seconds (then exits 0), and a supervised worker that dies is replaced.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.lifeline import PARENT_PID_ENV, set_parent_death_signal
from apps.core.metrics.shared import start_group as metrics_group_start

APPLICATION = "gatewaysite.asgi:application"
# granian holds at most this many connections per worker and leaves the rest in the listen backlog. Its
# default (backlog / workers: 1024 with 2 workers) counts idle keep-alive connections too, so it would queue
# new callers silently; the gateway's own limit is TOLLGATE_MAX_IN_FLIGHT, answered with a fast 503.
GRANIAN_CONNECTIONS = 16384


class Command(BaseCommand):
    help = "Serve the gateway (Channels ProtocolTypeRouter) with uvicorn or granian."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="0.0.0.0")
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--workers", type=int, default=None)
        parser.add_argument("--server", choices=sorted(SERVERS), default=None,
                            help="ASGI server (default: TOLLGATE_SERVER)")

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"] or settings.PORT
        workers = options["workers"] or settings.WORKERS
        server = options["server"] or settings.TOLLGATE_SERVER
        if importlib.util.find_spec(server) is None:
            raise CommandError(f"the {server} server is not installed: pip install '{INSTALL[server]}'")
        self.stdout.write(f"Tollgate listening on http://{options['host']}:{port} ({workers} {server} worker(s)); "
                          f"admin at /admin/, OpenAI API at /v1")
        self.stdout.flush()
        os.environ[PARENT_PID_ENV] = str(os.getpid())  # Celery's worker and the server's workers follow serve
        metrics_group_start(Path(str(settings.TOLLGATE_METRICS_DIR)))  # one /metrics directory per serve
        start_celery()
        argv = SERVERS[server](host=options["host"], port=port, workers=workers)
        os.execv(sys.executable, [sys.executable, "-m", *argv])


# uvicorn's httptools protocol, one write per turn, with bounded heads and timed heads and bodies
HTTP_PROTOCOL = "apps.core.bounded_http:BoundedHttpToolsProtocol"


def uvicorn_argv(*, host: str, port: int, workers: int) -> list[str]:
    """uvicorn (through apps.core.uvicorn_main, for the exit status) with uvloop and httptools; past the grace
    period it cancels open calls, then runs lifespan shutdown."""
    return ["apps.core.uvicorn_main", APPLICATION, "--host", host, "--port", str(port), "--workers", str(workers),
            "--loop", "uvloop", "--http", HTTP_PROTOCOL, "--lifespan", "on", "--no-access-log",
            "--timeout-graceful-shutdown", str(settings.TOLLGATE_SHUTDOWN_GRACE), "--log-level", "warning"]


def granian_argv(*, host: str, port: int, workers: int) -> list[str]:
    """granian's ASGI interface (with lifespan) over HTTP/1.1, as uvicorn serves; past the grace period
    the supervisor kills a worker still draining, so its lifespan shutdown does not run. Its HTTP/1 buffer
    bounds a request head (431 past it) and its head read timeout is TOLLGATE_HEADER_TIMEOUT (at most 60 s)."""
    header_ms = min(60_000, max(1, round(settings.TOLLGATE_HEADER_TIMEOUT * 1000)))
    return ["granian", "--interface", "asgi", APPLICATION, "--host", host, "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", "1", "--no-access-log",
            "--http1-buffer-size", str(settings.TOLLGATE_MAX_HEADER_BYTES), "--http1-header-read-timeout", str(header_ms),
            "--backlog", "2048", "--backpressure", str(GRANIAN_CONNECTIONS), "--respawn-failed-workers",
            "--workers-kill-timeout", str(settings.TOLLGATE_SHUTDOWN_GRACE), "--log-level", "warning"]


SERVERS = {"uvicorn": uvicorn_argv, "granian": granian_argv}
INSTALL = {"uvicorn": "uvicorn[standard]", "granian": "tollgate[granian]"}


def start_celery() -> subprocess.Popen[bytes] | None:
    """With Redis, a Celery worker with beat beside the server (spend flushes, budget resets, probes).

    Embedded, Celery runs tasks eagerly in-process and needs no worker. Set TOLLGATE_RUN_CELERY=0 where
    workers and one beat are deployed separately. The worker gets SIGTERM when the server exits, however it
    exits: the parent-death signal survives the exec into the server, and the worker, told the server's pid,
    watches for it too (gatewaysite/celery.py), so it follows the server even where that signal is lost.
    """
    if not settings.REDIS_URL or not settings.TOLLGATE_RUN_CELERY:
        return None
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "gatewaysite", "worker", "--beat",
                             "--loglevel", "WARNING", "--concurrency", "1"], preexec_fn=die_with_parent)


def die_with_parent() -> None:
    """In the child, before it runs Celery: get SIGTERM as soon as the server process exits."""
    set_parent_death_signal(signal.SIGTERM)
