"""`manage.py print_master_key`: say where the master key comes from (printing it only if generated)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.teams.master_key import master_key


class Command(BaseCommand):
    help = "Show how to authenticate with the master key."

    def handle(self, *args: Any, **options: Any) -> None:
        key = master_key()
        if settings.TOLLGATE_MASTER_KEY:
            self.stdout.write("Master key: from TOLLGATE_MASTER_KEY")
        elif (kept := settings.VAR_DIR / "master_key").exists() and kept.read_text().strip() == key:
            self.stdout.write(f"Master key (generated, kept in {kept}): {key}")
        else:
            self.stdout.write("Master key: from general_settings.master_key in the config")
