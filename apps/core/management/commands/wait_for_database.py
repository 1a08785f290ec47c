"""`manage.py wait_for_database`: wait until the database accepts connections, or fail loudly.

The migration Job of the Helm chart and the `migrate` role of the image run it first: a database that is still
starting is waited for, one that stays unreachable fails the Job (exit 1) with the reason, not a hung pod.
"""
from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connection


def where(settings_dict: dict[str, Any]) -> str:
    """The database as an operator names it, without its password."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite {settings_dict['NAME']}"
    host, port = settings_dict.get("HOST") or "localhost", settings_dict.get("PORT") or 5432
    return f"postgresql {host}:{port}/{settings_dict['NAME']}"


class Command(BaseCommand):
    help = "Wait until the database accepts connections; exit 1 with the reason after --timeout seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=60.0)
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        deadline = time.monotonic() + options["timeout"]
        target = where(connection.settings_dict)
        while True:
            try:
                connection.ensure_connection()
            except OperationalError as exc:
                if time.monotonic() >= deadline:
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise CommandError(f"database {target} unreachable after {options['timeout']:g} s: {reason}")
                time.sleep(options["interval"])
                continue
            self.stdout.write(f"database {target} is reachable")
            return
