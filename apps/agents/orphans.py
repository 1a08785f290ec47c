"""Tasks whose process went away: a task running here holds a lease in the state backend, renewed while it runs
(apps.agents.runs). A stored task still submitted or working, not running in this process, whose lease ran out and
whose row has not moved for a lease period, was left by a replica that died: it is ended as failed (its push
deliveries owed as for any end), by the reaper (Celery beat) or by whoever gets, cancels or follows it."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.agents import store
from apps.agents.deliveries import deliveries_schedule
from apps.agents.ids import new_id
from apps.agents.push import deliver_soon
from apps.agents.runs import now_iso, running
from apps.agents.store import StoredTask, in_thread
from apps.agents.wire import Message, Task
from apps.core.state import state

RUNNING = frozenset({"TASK_STATE_SUBMITTED", "TASK_STATE_WORKING"})
LOST = "The gateway process running this task went away before it ended."
REAP_BATCH = 500
STARTED = timezone.now()  # imported before this process stores its first task


def quiet_since() -> datetime:
    return timezone.now() - timedelta(seconds=settings.TOLLGATE_A2A_TASK_LEASE)


def failed(task: Task) -> Task:
    message: Message = {"messageId": new_id(), "role": "ROLE_AGENT", "parts": [{"text": LOST}], "taskId": task["id"],
                        "contextId": task.get("contextId", "")}
    return {**task, "status": {"state": "TASK_STATE_FAILED", "message": message, "timestamp": now_iso()},
            "history": [*(task.get("history") or []), message]}


def _fail(*, task: Task, updated_at: datetime | None) -> list[int] | None:
    """Store the task failed if its row is still as it was read (else its process spoke up: None); its push
    deliveries' ids."""
    from apps.agents.models import AgentTask

    rows = AgentTask.objects.filter(task_id=task["id"], state__in=RUNNING)
    if updated_at is not None:
        rows = rows.filter(updated_at=updated_at)
    if not rows.update(state="TASK_STATE_FAILED", task=task, updated_at=timezone.now()):
        return None
    return deliveries_schedule(task=task, now=timezone.now())


async def orphaned(stored: StoredTask) -> bool:
    """Whether a stored task was left unfinished by a process that is gone. Without a shared state backend one
    process serves (no REDIS_URL: WORKERS=1), so a task not running here was left by an earlier one."""
    if stored.state not in RUNNING or running(stored.task["id"]) is not None:
        return False
    if state().in_process:
        return stored.updated_at is not None and stored.updated_at < STARTED
    if stored.updated_at is not None and stored.updated_at > quiet_since():
        return False
    return not await store.leases_alive([stored.task["id"]])


async def checked(stored: StoredTask) -> StoredTask:
    """The stored task, ended as failed first if its process is gone."""
    if not await orphaned(stored):
        return stored
    task = failed(stored.task)
    ids = await in_thread(_fail, task=task, updated_at=stored.updated_at)
    if ids is None:  # it moved meanwhile: read it again
        return await store.task_load(stored.task["id"], agent_id=stored.agent_id, owner=None)
    if ids:
        deliver_soon(ids)
    return StoredTask(task=task, agent_id=stored.agent_id, owner=stored.owner, remote_task_id=stored.remote_task_id)


def _quiet_rows() -> list[StoredTask]:
    from apps.agents.models import AgentTask

    rows = AgentTask.objects.filter(state__in=RUNNING, updated_at__lt=quiet_since()).order_by("updated_at")
    return [StoredTask(task=row.task, agent_id=row.agent_id, owner=row.owner, remote_task_id=row.remote_task_id,
                       updated_at=row.updated_at) for row in rows[:REAP_BATCH]]


async def tasks_reap() -> int:
    """End as failed every task left unfinished by a process that is gone; how many. (Leases live in the shared
    backend: without one, a beat process cannot tell, and the serving process ends its predecessor's tasks as
    they are read.)"""
    if state().in_process:
        return 0
    quiet = [stored for stored in await in_thread(_quiet_rows) if running(stored.task["id"]) is None]
    alive = await store.leases_alive([stored.task["id"] for stored in quiet])
    reaped = 0
    for stored in quiet:
        if stored.task["id"] in alive:
            continue
        # its push deliveries are written due now: the beat's push_deliver_due_task sends them
        if await in_thread(_fail, task=failed(stored.task), updated_at=stored.updated_at) is not None:
            reaped += 1
    return reaped
