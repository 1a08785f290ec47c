"""Celery tasks of the routing app."""
from __future__ import annotations

import asyncio

from celery import shared_task

from apps.routing.services import deployment_health_probe


@shared_task
def deployment_health_probe_task() -> None:
    """Probe every deployment that allows it (scheduled by beat every TOLLGATE_HEALTH_PROBE_INTERVAL seconds)."""
    deployment_health_probe()


@shared_task(ignore_result=True)
def responses_reap_task() -> int:
    """Store as failed the background responses over chat left running by a process that died (lease run out)."""
    from apps.routing.responses_orphans import responses_reap

    return asyncio.run(responses_reap())
