"""The Celery app: Redis broker when REDIS_URL is set, eager in-process execution otherwise.

Workers and beat lower their CPU priority when they start (TOLLGATE_CELERY_NICE), so a spend flush
running beside the server on the same cores waits for request handling instead of competing with it.

No process of a worker outlives what started it (apps/core/lifeline.py): a worker that `manage.py serve` started
follows serve, its embedded beat follows the worker, and Celery itself ties the pool's processes to the worker.

A worker keeps its database connection from task to task, as a server process does from request to request
(CELERY_DB_REUSE_MAX in settings, `recycle_database_connections` here): one PostgreSQL backend, not one per task.
"""
from __future__ import annotations

import os
from pathlib import Path

from celery import Celery, Task, signals

from apps.core.lifeline import PARENT_PID_ENV, tie_to_parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")

app = Celery("tollgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

MAX_NICE = 19
# Seconds a worker (or its beat) has for its warm shutdown once its parent is gone; then it is killed.
SHUTDOWN_GRACE_SECONDS = 10.0
# The worker's main process, noted at worker_init (before it forks its pool and beat), 0 elsewhere.
worker_pid = 0


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


@signals.worker_init.connect
def tie_worker_to_serve(**_: object) -> None:
    """At worker start: note the worker's pid for its beat; a worker `serve` started stops when serve is gone."""
    global worker_pid
    worker_pid = os.getpid()
    serve_pid = os.environ.get(PARENT_PID_ENV)
    if serve_pid:
        tie_to_parent(int(serve_pid), grace=SHUTDOWN_GRACE_SECONDS)


@signals.beat_embedded_init.connect
def tie_beat_to_worker(**_: object) -> None:
    """In the embedded beat's process: stop when the worker is gone, however the worker ended."""
    if worker_pid:
        tie_to_parent(worker_pid, grace=SHUTDOWN_GRACE_SECONDS)


@signals.task_prerun.connect
@signals.task_postrun.connect
def recycle_database_connections(sender: Task | None = None, **_: object) -> None:
    """Around each task run by a worker, what Django does around each request: drop a connection that broke or
    outlived TOLLGATE_DB_CONN_MAX_AGE, and re-arm the health check of the one kept (CONN_HEALTH_CHECKS)."""
    if sender is None or getattr(sender.request, "is_eager", False):
        return  # an eager task runs inside its caller's request or transaction
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_ready.connect
def close_startup_connections(**_: object) -> None:
    """The checks Celery runs at start left a connection open in the worker's main process, which runs no task
    (its pool does): close it rather than keep an idle PostgreSQL backend for the worker's life."""
    from django.db import connections

    connections.close_all()
