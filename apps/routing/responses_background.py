"""Background responses (`background: true`): the call runs on after its answer, and any replica can read it.

Passed through (OpenAI, Azure): the provider runs it. The create answers the provider's queued Response, and the
admitting process keeps the call's reservation and polls the provider every TOLLGATE_RESPONSES_POLL_SECONDS until
the response ends; a GET or a cancel on that process that sees it end settles it at once (one on another replica
stores what it saw, and the poll settles). The meter settles once (`Meter.settled`), so the spend is charged once;
a process that dies first leaves its call intent, which the sweeper charges at the reservation.

Over chat: the chat call runs here as a task, its Response stored `queued` first so any replica can GET it, and
overwritten when it ends. A cancel stores `cancelled` (a conditional UPDATE: only one ending status lands); the
task is cancelled at once on its own process, and by its poll of the stored status on any other. While it runs,
the process renews its lease; one whose process died is ended as failed (`responses_orphans`).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.core.errors import GatewayError
from apps.providers.base import UpstreamError
from apps.providers.responses.output import usage_from_responses
from apps.routing import responses_store as store
from apps.routing.prices import deployment_price
from apps.routing.responses_leases import lease_renew, lease_seconds
from apps.routing.responses_store import RUNNING, ResponseRecord
from apps.routing.responses_upstream import forwarded
from apps.routing.snapshot import DeploymentRecord
from apps.teams.metering import Meter

logger = logging.getLogger("tollgate.responses")
ENDED = {"completed": ("success", ""), "incomplete": ("success", ""), "failed": ("failure", "response_failed"),
         "cancelled": ("cancelled", "response_cancelled")}


@dataclass(slots=True)
class Watch:
    """A background call this process admitted: its reservation, who serves it, and the task running or polling it."""

    meter: Meter
    deployment: DeploymentRecord | None
    task: asyncio.Task[None] | None = None


WATCHES: dict[str, Watch] = {}  # this process's running background calls, by the gateway's response id


def poll_seconds() -> float:
    return float(settings.TOLLGATE_RESPONSES_POLL_SECONDS)


def running(record: ResponseRecord) -> bool:
    """A background response not ended yet."""
    return bool(record.body.get("background")) and record.status in RUNNING


def still_running(body: dict[str, Any]) -> bool:
    return body.get("object") == "response" and str(body.get("status") or "") in RUNNING


def settle(response_id: str, body: dict[str, Any]) -> None:
    """Charge a passed-through background call that ended, if this process admitted it and has not yet."""
    watch = WATCHES.pop(response_id, None)
    if watch is None or watch.deployment is None:
        return
    if watch.task is not None and watch.task is not asyncio.current_task():
        watch.task.cancel()
    status, error_type = ENDED.get(str(body.get("status") or ""), ("failure", "response_lost"))
    watch.meter.finish_soon(watch.deployment, usage_from_responses(body.get("usage")),
                            price=deployment_price(watch.deployment), status=status, error_type=error_type)


def context_with(record: ResponseRecord, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's conversation with its output replaced by `body`'s."""
    stale = len(record.body.get("output") or [])
    return [*record.context[:len(record.context) - stale], *(body.get("output") or [])]


async def ended(record: ResponseRecord, body: dict[str, Any]) -> None:
    """A passed-through background response as the provider now answers it: stored while it was running, and
    charged (here, if this process admitted it) once it has ended."""
    if body.get("object") != "response":
        return
    if running(record):
        await store.running_set(record.response_id, body, context_with(record, body))
    if not still_running(body):
        settle(record.response_id, body)


async def refreshed(record: ResponseRecord) -> dict[str, Any]:
    """A running background response as it is now: the provider's (passed through) or the stored one (over chat)."""
    if not record.passed_through:
        return record.body
    body = await forwarded(record, method="GET")
    await ended(record, body)
    return body


def watch_passthrough(record: ResponseRecord, meter: Meter, deployment: DeploymentRecord) -> None:
    """Hold the call's reservation and poll the provider until the response ends."""
    watch = Watch(meter=meter, deployment=deployment)
    WATCHES[record.response_id] = watch
    watch.task = asyncio.create_task(poll_passthrough(record))


async def poll_passthrough(record: ResponseRecord) -> None:
    while record.response_id in WATCHES:
        await asyncio.sleep(poll_seconds())
        try:
            body = await forwarded(record, method="GET")
        except (UpstreamError, GatewayError) as error:
            if getattr(error, "upstream_status", None) == 404 or getattr(error, "status", None) == 404:
                settle(record.response_id, {"status": "cancelled"})  # deleted: nothing more will be known
                return
            logger.warning("background response %s: poll failed: %s", record.response_id, error)
            continue
        await ended(record, body)


def run_over_chat(record: ResponseRecord, meter: Meter, work: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    """Run `work` (the chat call, giving the ended Response) as this process's task for the stored `record`."""
    task = asyncio.create_task(work_stored(record, work))
    WATCHES[record.response_id] = Watch(meter=meter, deployment=None, task=task)
    asyncio.create_task(supervise(record.response_id, task))


async def work_stored(record: ResponseRecord, work: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    """The work's Response stored over the queued one (unless a cancel ended it first); a failure stored failed."""
    try:
        body = await work()
    except asyncio.CancelledError:
        await asyncio.shield(store.running_set(record.response_id, {**record.body, "status": "cancelled"}))
        raise
    except (GatewayError, UpstreamError) as error:
        code = getattr(error, "code", None) or getattr(error, "error_code", None) or "server_error"
        body = {**record.body, "status": "failed", "error": {"code": code, "message": str(error)}}
    except Exception:  # noqa: BLE001 - a background task has no caller to raise to: the failure is stored
        logger.exception("background response %s failed", record.response_id)
        body = {**record.body, "status": "failed", "error": {"code": "server_error", "message": "internal error"}}
    finally:
        WATCHES.pop(record.response_id, None)
    await store.running_set(record.response_id, body, context_with(record, body))


async def supervise(response_id: str, task: asyncio.Task[None]) -> None:
    """While the task runs: renew the response's lease (a replica that finds it run out stores the response failed:
    this process died, `responses_orphans`), and cancel the task once the stored response is no longer running (a
    cancel on another replica)."""
    loop = asyncio.get_running_loop()
    renew_every = lease_seconds() / 3
    renewed = -renew_every
    while not task.done():
        if loop.time() - renewed >= renew_every:
            try:
                await lease_renew(response_id)
                renewed = loop.time()
            except Exception:  # noqa: BLE001 - a state backend outage must not end the call; the next round retries
                logger.warning("could not renew the lease of response %s", response_id, exc_info=True)
        await asyncio.wait({task}, timeout=min(poll_seconds(), renew_every))
        if not task.done() and await store.status_of(response_id) not in RUNNING:
            task.cancel()


async def cancelled(record: ResponseRecord) -> dict[str, Any]:
    """Cancel a background response served over chat: `cancelled` stored (if it still ran) and its task stopped."""
    if not running(record):
        return record.body
    body = {**record.body, "status": "cancelled"}
    if not await store.running_set(record.response_id, body):
        return await store.body_of(record.response_id) or record.body  # it ended first
    watch = WATCHES.get(record.response_id)
    if watch is not None and watch.task is not None:
        watch.task.cancel()
    return body
