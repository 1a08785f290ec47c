"""`manage.py serve`: run the ASGI application with uvicorn (uvloop + httptools) on PORT with WORKERS."""
from __future__ import annotations

from typing import Any

import uvicorn
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
        uvicorn.run("gatewaysite.asgi:application", host=options["host"], port=port, workers=workers,
                    loop="uvloop", http="httptools", lifespan="on", access_log=False,
                    timeout_graceful_shutdown=30, log_level="warning")
