"""Push notifications: when a task ends (or stops for input), each of its push configs is owed the task, POSTed to
its URL with its token and credentials. The deliveries are written with the task's final save, so none is lost
with the process: that process tries each at once in a background task of its own (a dead URL holds up neither
the task nor the other deliveries) and retries it with doubling backoff, up to TOLLGATE_A2A_PUSH_ATTEMPTS; Celery
beat (`push_deliver_due_task`) retries, from any replica, whatever is due and was left behind."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.agents.deliveries import Delivery, deliveries_due, delivery_claim, delivery_settle
from apps.agents.push_targets import refused_target
from apps.agents.store import in_thread
from apps.core import jsonutil
from apps.core.addresses import is_public
from apps.providers import h1pool
from apps.providers.transport import TRANSPORT_ERRORS

logger = logging.getLogger("tollgate.agents")
PUSH_TIMEOUT = 10.0
LEASE = timedelta(seconds=60)  # a claimed attempt is its claimer's this long, then due again (the claimer died)
MAX_BACKOFF = 300.0
_delivering: set[asyncio.Task[None]] = set()  # the background deliveries of this process (kept from the GC)


def backoff(attempts: int) -> float:
    """Seconds before the attempt after `attempts` failed ones: TOLLGATE_A2A_PUSH_BACKOFF, doubling, capped."""
    return float(min(settings.TOLLGATE_A2A_PUSH_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF))


def retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


async def post(delivery: Delivery) -> tuple[int, str]:
    """POST the delivery: the status (0: unreachable, -1: refused, never retried) and what went wrong ("" when it
    was taken)."""
    refusal = await refused_target(delivery.url)
    if refusal is not None:
        return -1, f"refused: {refusal}"[:300]
    headers = {"content-type": "application/json", **delivery.headers}
    check = None if settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL else is_public  # what is reached is what was checked
    try:
        async with asyncio.timeout(PUSH_TIMEOUT):
            response = await h1pool.request("POST", delivery.url, headers, jsonutil.dumps(delivery.body),
                                            connect_timeout=PUSH_TIMEOUT, read_timeout=None, check=check)
            await response.read()
    except h1pool.RefusedAddress as exc:
        return -1, f"refused: {exc}"[:300]
    except TRANSPORT_ERRORS as exc:
        return 0, f"unreachable: {type(exc).__name__}"
    status = response.status_code
    return status, "" if 200 <= status < 300 else f"answered {status}"


async def attempt(delivery_id: int) -> float | None:
    """One attempt at a delivery if it is due and nobody else holds it: the seconds until it is due again, or None
    (delivered, given up, or not ours to send)."""
    delivery = await in_thread(delivery_claim, delivery_id=delivery_id, now=timezone.now(), lease=LEASE)
    if delivery is None:
        return None
    status, error = await post(delivery)
    now = timezone.now()
    if not error:
        await in_thread(delivery_settle, delivery_id=delivery_id, delivered_at=now, retry_at=None, error="")
        return None
    again = (status == 0 or retryable(status)) and delivery.attempts < settings.TOLLGATE_A2A_PUSH_ATTEMPTS
    wait = backoff(delivery.attempts) if again else None
    await in_thread(delivery_settle, delivery_id=delivery_id, delivered_at=None,
                    retry_at=now + timedelta(seconds=wait) if wait is not None else None, error=error)
    logger.warning("push notification for task %s %s (attempt %d%s)", delivery.task_id, error, delivery.attempts,
                   f", next in {wait:g}s" if wait is not None else ", given up")
    return wait


async def deliver(delivery_id: int) -> None:
    """Attempt a delivery until it is delivered, given up, or taken over by another replica."""
    while (wait := await attempt(delivery_id)) is not None:
        await asyncio.sleep(wait)


def deliver_soon(delivery_ids: list[int]) -> None:
    """Start each delivery in a background task of its own."""
    loop = asyncio.get_running_loop()
    for delivery_id in delivery_ids:
        task = loop.create_task(deliver(delivery_id))
        _delivering.add(task)
        task.add_done_callback(_delivering.discard)


async def deliver_due() -> int:
    """One attempt at every delivery that is due (any replica's), side by side; how many were due."""
    due = await in_thread(deliveries_due, now=timezone.now())
    await asyncio.gather(*(attempt(delivery_id) for delivery_id in due))
    return len(due)
