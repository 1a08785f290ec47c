"""`manage.py load_config [path]`: load a LiteLLM-style config.yaml into the database (idempotent)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.routing.config import ConfigError
from apps.routing.config_reload import ConfigRefused, config_read
from apps.routing.services import deployments_sync_from_config
from apps.teams.errors import TeamSettingsInvalid


class Command(BaseCommand):
    help = "Load model_list, the settings sections and general_settings.team_settings from a config.yaml."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default=None, help="Defaults to TOLLGATE_CONFIG.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = str(options["path"] or settings.TOLLGATE_CONFIG)
        try:
            config = config_read(path)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        except ConfigRefused as exc:
            for warning in exc.warnings:
                self.stderr.write(f"warning: {path}: {warning}")
            raise CommandError(str(exc)) from None
        for warning in config.warnings:
            self.stderr.write(f"warning: {path}: {warning}")
        try:
            result = deployments_sync_from_config(config=config)
        except TeamSettingsInvalid as exc:
            raise CommandError(f"{path}: {exc}") from None
        for ignored in result.teams.ignored:
            self.stderr.write(f"warning: {path}: {ignored} ignored (per-team logging callbacks are not supported)")
        self.stdout.write(f"loaded {path}: {result.created} created, {result.updated} updated, "
                          f"{result.removed} removed")
        if result.teams.created or result.teams.updated:
            self.stdout.write(f"teams: {len(result.teams.created)} created, {len(result.teams.updated)} updated")
