"""Tasks kept in the database (state, history, artifacts), so any replica answers tasks/get, lists and
subscriptions; cancel requests for a task running elsewhere go through the shared state backend."""
from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.agents.deliveries import deliveries_schedule
from apps.agents.errors import TaskNotFound
from apps.agents.wire import Json, Task
from apps.core.leases import lease_hold, leases_held
from apps.core.snapshots import with_fresh_connection
from apps.core.state import state

T = TypeVar("T")
CANCEL_TTL = 3600.0


@dataclass(frozen=True, slots=True)
class StoredTask:
    task: Task
    agent_id: str
    owner: str
    remote_task_id: str = ""
    updated_at: datetime | None = None

    @property
    def state(self) -> str:
        return self.task.get("status", {}).get("state", "TASK_STATE_UNSPECIFIED")


_sqlite_lock: asyncio.Lock | None = None


STORE_THREADS = 4  # the task store's own threads: each keeps its database connection from call to call
_executor: ThreadPoolExecutor | None = None


async def in_thread(function: Callable[..., T], **kwargs: Any) -> T:
    """Run an ORM function off the event loop, with a live connection, in the store's few threads (asgiref's
    sync_to_async costs several times the query itself). On SQLite (embedded: one process) they run one at a
    time: two threads writing at once get "database is locked"."""
    global _executor, _sqlite_lock
    if _executor is None:
        _executor = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="a2a-store")
    # In the caller's context: the audit scope of a /v1/agents write reaches the thread that saves.
    call = functools.partial(contextvars.copy_context().run, with_fresh_connection(function), **kwargs)
    loop = asyncio.get_running_loop()
    if connection.vendor != "sqlite":
        return await loop.run_in_executor(_executor, call)
    if _sqlite_lock is None:
        _sqlite_lock = asyncio.Lock()
    async with _sqlite_lock:
        return await loop.run_in_executor(_executor, call)


def _task_save(*, task: Task, agent_id: str, owner: str, remote_task_id: str | None, exists: bool,
               push: bool) -> list[int]:
    """An UPDATE of a task already stored (the usual case), an INSERT for a new one; with `push` (the task ended)
    the deliveries its push configs are owed, in the same trip to the database: their ids."""
    _task_write(task=task, agent_id=agent_id, owner=owner, remote_task_id=remote_task_id, exists=exists)
    return deliveries_schedule(task=task, now=timezone.now()) if push else []


def _task_write(*, task: Task, agent_id: str, owner: str, remote_task_id: str | None, exists: bool) -> None:
    """One statement in SQL of our own: the ORM's save costs twice the query on the task path (bench/PROFILE.md)."""
    from apps.agents.models import AgentTask

    meta = AgentTask._meta
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    body = meta.get_field("task").get_db_prep_save(task, connection)
    values = {"agent_id": agent_id, "context_id": task.get("contextId", ""), "owner": owner,
              "state": task["status"]["state"], "task": body, "updated_at": now}
    if remote_task_id is not None:
        values["remote_task_id"] = remote_task_id
    table, names = connection.ops.quote_name(meta.db_table), list(values)
    with connection.cursor() as cursor:
        if exists:
            cursor.execute(f"UPDATE {table} SET {', '.join(f'{n} = %s' for n in names)} WHERE task_id = %s",
                           [*values.values(), task["id"]])
            if cursor.rowcount:
                return
        row = {"task_id": task["id"], "remote_task_id": "", **values, "created_at": now}
        cursor.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
                       list(row.values()))


async def task_save(task: Task, *, agent_id: str, owner: str, remote_task_id: str | None = None,
                    exists: bool = True, push: bool = False) -> list[int]:
    """Store the task as it is now (`exists`: it was stored before, so one UPDATE does); `push`: it ended, so its
    push deliveries are written too (their ids returned, for `apps.agents.push.deliver_soon`)."""
    return await in_thread(_task_save, task=task, agent_id=agent_id, owner=owner, remote_task_id=remote_task_id,
                           exists=exists, push=push)


def _task_load(*, task_id: str, agent_id: str, owner: str | None) -> StoredTask:
    from apps.agents.models import AgentTask

    row = AgentTask.objects.filter(task_id=task_id, agent_id=agent_id).first()
    if row is None or (owner is not None and row.owner != owner):  # another caller's task does not exist for you
        raise TaskNotFound(f"Task {task_id} was not found.", data={"taskId": task_id})
    return StoredTask(task=row.task, agent_id=row.agent_id, owner=row.owner, remote_task_id=row.remote_task_id,
                      updated_at=row.updated_at)


async def task_load(task_id: str, *, agent_id: str, owner: str | None) -> StoredTask:
    """The stored task, if it belongs to this agent and (unless owner is None: the master key) this caller."""
    return await in_thread(_task_load, task_id=task_id, agent_id=agent_id, owner=owner)


def _task_list(*, agent_id: str, owner: str | None, context_id: str, status: str, offset: int,
               size: int) -> tuple[list[Task], int]:
    from apps.agents.models import AgentTask

    rows = AgentTask.objects.filter(agent_id=agent_id)
    if owner is not None:
        rows = rows.filter(owner=owner)
    if context_id:
        rows = rows.filter(context_id=context_id)
    if status:
        rows = rows.filter(state=status)
    total = rows.count()
    return [row.task for row in rows.order_by("-updated_at", "task_id")[offset:offset + size]], total


async def task_list(*, agent_id: str, owner: str | None, context_id: str = "", status: str = "", offset: int = 0,
                    size: int = 50) -> tuple[list[Task], int]:
    """One page of the caller's tasks with this agent, newest first, and how many there are in all."""
    return await in_thread(_task_list, agent_id=agent_id, owner=owner, context_id=context_id, status=status,
                           offset=offset, size=size)


def _push_set(*, task_id: str, config: Json) -> None:
    from apps.agents.models import AgentPushConfig

    AgentPushConfig.objects.update_or_create(task_id=task_id, config_id=config["id"], defaults={"config": config})


def _push_list(*, task_id: str) -> list[Json]:
    from apps.agents.models import AgentPushConfig

    return [row.config for row in AgentPushConfig.objects.filter(task_id=task_id).order_by("config_id")]


def _push_delete(*, task_id: str, config_id: str) -> int:
    from apps.agents.models import AgentPushConfig

    return AgentPushConfig.objects.filter(task_id=task_id, config_id=config_id).delete()[0]


async def push_set(task_id: str, config: Json) -> None:
    await in_thread(_push_set, task_id=task_id, config=config)


async def push_list(task_id: str) -> list[Json]:
    return await in_thread(_push_list, task_id=task_id)


async def push_delete(task_id: str, config_id: str) -> int:
    return await in_thread(_push_delete, task_id=task_id, config_id=config_id)


def cancel_flag(task_id: str) -> str:
    return f"a2a-cancel:{task_id}"


async def cancel_request(task_id: str) -> None:
    """Ask whichever process runs the task to stop it."""
    await state().add([(cancel_flag(task_id), 1, CANCEL_TTL)])


async def cancel_requested(task_id: str) -> bool:
    [value] = await state().values([cancel_flag(task_id)])
    return bool(value)


def lease_key(task_id: str) -> str:
    return f"a2a-lease:{task_id}"


async def lease_renew(task_id: str) -> None:
    """The running process's claim on a task, kept alive while it runs (TOLLGATE_A2A_TASK_LEASE seconds each)."""
    await lease_hold(lease_key(task_id), settings.TOLLGATE_A2A_TASK_LEASE)


async def leases_alive(task_ids: list[str]) -> set[str]:
    """Which of these tasks some process still holds."""
    return await leases_held(task_ids, lease_key)
