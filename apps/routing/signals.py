"""Safety net: any saved or deleted deployment, search tool or router setting invalidates the routing snapshot."""
from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.core.snapshots import snapshot_bump
from apps.routing.models import Deployment, RouterSettings, SearchTool
from apps.routing.snapshot import GENERATION


@receiver([post_save, post_delete], sender=Deployment)
@receiver([post_save, post_delete], sender=RouterSettings)
@receiver([post_save, post_delete], sender=SearchTool)
def routing_changed(sender: type, **kwargs: Any) -> None:
    snapshot_bump(GENERATION)
