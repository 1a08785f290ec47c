"""`manage.py import_litellm --database-url postgres://...`: bring a LiteLLM proxy database over, idempotently."""
from __future__ import annotations

import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.routing.litellm_models import TABLE as MODELS_TABLE, proxy_models_import
from apps.teams.litellm_import.importer import teams_import
from apps.teams.litellm_import.reader import SourceError, litellm_reader
from apps.teams.litellm_import.report import ImportReport


class DryRun(Exception):
    """Raised inside the import's transaction to roll it back after the report is made."""


class Command(BaseCommand):
    help = ("Import a LiteLLM proxy database (keys keep their secrets, teams, users, organizations, budgets, "
            "end users, memberships, spend logs, database models). Running it again changes nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database-url", default=os.environ.get("LITELLM_DATABASE_URL"),
                            help="The LiteLLM database (default: LITELLM_DATABASE_URL); only read.")
        parser.add_argument("--salt-key", default=os.environ.get("LITELLM_SALT_KEY") or os.environ.get("LITELLM_MASTER_KEY"),
                            help="Decrypts stored model params: LiteLLM's LITELLM_SALT_KEY, else its master key "
                                 "(default: LITELLM_SALT_KEY, then LITELLM_MASTER_KEY).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change, then roll back.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["database_url"]
        if not url:
            raise CommandError("--database-url (or LITELLM_DATABASE_URL) is required")
        report = ImportReport()
        try:
            self._import(url, options["salt_key"] or None, report, dry_run=options["dry_run"])
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        except DryRun:
            pass
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        for line in report.lines():
            self.stdout.write(line)
        if options["dry_run"]:
            self.stdout.write("dry run: nothing written" + ("" if report.changed else "; nothing would change"))
        else:
            self.stdout.write("changes imported" if report.changed else "nothing changed")

    @staticmethod
    def _import(url: str, salt_key: str | None, report: ImportReport, *, dry_run: bool) -> None:
        with litellm_reader(url) as reader, transaction.atomic():
            teams_import(reader=reader, report=report)
            proxy_models_import(rows=reader.rows(MODELS_TABLE), salt_key=salt_key, report=report.table(MODELS_TABLE))
            if dry_run:
                raise DryRun
