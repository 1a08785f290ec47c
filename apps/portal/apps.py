from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "apps.portal"
    label = "portal"
    verbose_name = "Portal and audit log"

    def ready(self) -> None:
        from apps.portal import audit

        audit.connect()
