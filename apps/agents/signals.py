"""Any saved or deleted agent (admin, API, config) invalidates the agent snapshot in every process."""
from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.agents.models import Agent
from apps.agents.registry import GENERATION
from apps.core.snapshots import snapshot_bump


@receiver([post_save, post_delete], sender=Agent)
def agents_changed(sender: type, **kwargs: Any) -> None:
    snapshot_bump(GENERATION)
