"""The Celery app: Redis broker when REDIS_URL is set, eager in-process execution otherwise.

Workers and beat lower their CPU priority when they start (TOLLGATE_CELERY_NICE), so a spend flush
running beside the server on the same cores waits for request handling instead of competing with it.
"""
from __future__ import annotations

import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")

app = Celery("tollgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

MAX_NICE = 19


def thread_ids() -> list[int]:
    """This process's threads (Linux), or [0] (the calling thread) where /proc does not list them."""
    tasks = Path("/proc/self/task")
    return [int(tid) for tid in os.listdir(tasks)] if tasks.is_dir() else [0]


def nice_to(value: int) -> None:
    """Raise this process's nice value to `value` (never lower it), in every thread: Linux keeps one per
    thread. Threads and processes started afterwards inherit it."""
    for tid in thread_ids():
        try:
            current = os.getpriority(os.PRIO_PROCESS, tid)
            if current < value:
                os.setpriority(os.PRIO_PROCESS, tid, min(value, MAX_NICE))
        except ProcessLookupError:
            continue  # the thread ended meanwhile


@signals.worker_init.connect
@signals.beat_init.connect
def lower_priority(**_: object) -> None:
    """At worker or beat start: run at TOLLGATE_CELERY_NICE (before the pool and embedded beat are forked)."""
    from django.conf import settings

    nice_to(settings.TOLLGATE_CELERY_NICE)
