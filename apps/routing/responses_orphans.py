"""Background responses served over chat whose process went away before they ended.

The process running one renews its lease (`responses_leases`) while the chat call runs. A stored response still
queued or in progress, not running here, older than a lease and with no live lease, was left by a process that
died: it is stored `failed` (a conditional UPDATE, so a process that does end it first wins), by whoever reads
it or by the reaper (Celery beat). Its reservation is charged by the call-intent sweeper, as any dead process's is.
Without a shared state backend one process serves, so a running response made before it started is lost.
Passed-through responses are the provider's to run: their GET asks the provider.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.core.state import state
from apps.routing import responses_store as store
from apps.routing.responses_background import WATCHES, running
from apps.routing.responses_leases import lease_seconds, leases_alive
from apps.routing.responses_store import ResponseRecord

LOST = "The gateway process running this response went away before it ended."
REAP_BATCH = 500
STARTED = timezone.now()  # imported before this process stores its first response


def quiet_since() -> datetime:
    return timezone.now() - timedelta(seconds=lease_seconds())


def lost(body: dict[str, Any]) -> dict[str, Any]:
    """The response as stored once its process is known gone."""
    return {**body, "status": "failed", "error": {"code": "server_error", "message": LOST}}


async def orphaned(record: ResponseRecord) -> bool:
    """Whether a stored response was left running by a process that is gone."""
    if record.passed_through or not running(record) or record.response_id in WATCHES or record.created_at is None:
        return False
    if state().in_process:
        return record.created_at < STARTED
    if record.created_at > quiet_since():
        return False
    return not await leases_alive([record.response_id])


async def checked(record: ResponseRecord) -> ResponseRecord:
    """The stored response, ended as failed first if its process is gone."""
    if not await orphaned(record):
        return record
    body = lost(record.body)
    if not await store.running_set(record.response_id, body):  # it ended meanwhile: read it again
        body = await store.body_of(record.response_id) or record.body
    return replace(record, body=body)


async def responses_reap() -> int:
    """Store as failed every over-chat response left running by a process that is gone; how many. (Leases live
    in the shared backend: without one, a beat process cannot tell, and the serving process ends its
    predecessor's responses as they are read.)"""
    if state().in_process:
        return 0
    rows = await store.in_thread(store.responses_running_over_chat, quiet_since())
    quiet = [(response_id, body) for response_id, body in rows if response_id not in WATCHES and body.get("background")]
    reaped = 0
    for start in range(0, len(quiet), REAP_BATCH):
        batch = quiet[start:start + REAP_BATCH]
        alive = await leases_alive([response_id for response_id, _ in batch])
        for response_id, body in batch:
            if response_id not in alive and await store.running_set(response_id, lost(body)):
                reaped += 1
    return reaped
