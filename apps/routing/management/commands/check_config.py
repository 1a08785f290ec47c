"""`manage.py check_config FILE`: report a config's warnings and errors by line; exit non-zero on any (for CI)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.providers.registry import ADAPTERS
from apps.routing.config import ConfigError, load_config_file


class Command(BaseCommand):
    help = "Check a LiteLLM-style config.yaml without loading it: every warning and error, with its line."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The config file to check.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = str(options["path"])
        try:
            config = load_config_file(path, set(ADAPTERS))
        except ConfigError as exc:
            raise CommandError(f"error: {exc}") from None
        for warning in config.warnings:
            self.stderr.write(f"warning: {path}: {warning}")
        if config.warnings:
            raise CommandError(f"{path}: {len(config.warnings)} warning(s)")
        self.stdout.write(f"{path}: OK, {len(config.deployments)} deployment(s), no warnings")
