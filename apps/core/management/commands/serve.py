"""`manage.py serve`: run the ASGI application with uvicorn (uvloop + httptools) on PORT with WORKERS.

The command replaces itself (exec) with uvicorn's own CLI, so the supervisor process that only watches
the workers never holds Django and the application (it held about 90 MB when it did).
"""
from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


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
        argv = [sys.executable, "-m", "uvicorn", "gatewaysite.asgi:application", "--host", options["host"],
                "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
                "--lifespan", "on", "--no-access-log", "--timeout-graceful-shutdown", "30", "--log-level", "warning"]
        os.execv(sys.executable, argv)
