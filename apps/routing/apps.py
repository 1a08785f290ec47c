from __future__ import annotations

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "apps.routing"
    label = "routing"

    def ready(self) -> None:
        from apps.routing import checks, signals  # noqa: F401 - registration on import
