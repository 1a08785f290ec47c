from __future__ import annotations

from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "apps.teams"
    label = "teams"

    def ready(self) -> None:
        from apps.teams import checks, openapi, signals  # noqa: F401 - registration on import (checks, schema, signals)
