"""Celery tasks: thin wrappers over the agents' services (beat runs each on a schedule)."""
from __future__ import annotations

import asyncio

from celery import shared_task


@shared_task(ignore_result=True)
def push_deliver_due_task() -> int:
    """Retry the A2A push notifications that are due, whichever replica owed them."""
    from apps.agents.push import deliver_due
    from apps.providers import h1pool

    async def run() -> int:
        try:
            return await deliver_due()
        finally:
            h1pool.close_pool()

    return asyncio.run(run())


@shared_task(ignore_result=True)
def push_prune_task() -> int:
    """Forget settled push deliveries older than TOLLGATE_A2A_PUSH_KEEP_DAYS, so the table does not grow forever."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from apps.agents.deliveries import deliveries_prune

    return deliveries_prune(before=timezone.now() - timedelta(days=settings.TOLLGATE_A2A_PUSH_KEEP_DAYS))


@shared_task(ignore_result=True)
def task_reap_task() -> int:
    """End as failed the A2A tasks left unfinished by a replica that died (their lease ran out)."""
    from apps.agents.orphans import tasks_reap

    return asyncio.run(tasks_reap())
