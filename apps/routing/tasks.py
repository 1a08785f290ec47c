"""Celery tasks of the routing app."""
from __future__ import annotations

from celery import shared_task

from apps.routing.services import deployment_health_probe


@shared_task
def deployment_health_probe_task() -> None:
    """Probe every deployment that allows it (scheduled by beat every TOLLGATE_HEALTH_PROBE_INTERVAL seconds)."""
    deployment_health_probe()
