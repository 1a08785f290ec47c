"""A running background response's lease in the state backend: the process whose task serves it over chat renews
it (`responses_background.supervise`); one whose lease ran out was left by a process that died
(`responses_orphans`)."""
from __future__ import annotations

from django.conf import settings

from apps.core.leases import lease_hold, leases_held


def lease_seconds() -> float:
    return float(settings.TOLLGATE_RESPONSES_LEASE)


def lease_key(response_id: str) -> str:
    return f"responses-lease:{response_id}"


async def lease_renew(response_id: str) -> None:
    """This process's claim on a running response, good for TOLLGATE_RESPONSES_LEASE seconds."""
    await lease_hold(lease_key(response_id), lease_seconds())


async def leases_alive(response_ids: list[str]) -> set[str]:
    """Which of these responses some process still serves."""
    return await leases_held(response_ids, lease_key)
