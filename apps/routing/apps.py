from __future__ import annotations

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "apps.routing"
    label = "routing"

    def ready(self) -> None:
        # registration on import; responses_orphans.STARTED: this start
        from apps.routing import checks, responses_orphans, signals  # noqa: F401
