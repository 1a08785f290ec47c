"""A running background response's lease in the state backend: the process whose task serves it over chat renews
it (`responses_background.supervise`); one whose lease ran out was left by a process that died
(`responses_orphans`)."""
from __future__ import annotations

from django.conf import settings

from apps.core.state import state


def lease_seconds() -> float:
    return float(settings.TOLLGATE_RESPONSES_LEASE)


def lease_key(response_id: str) -> str:
    return f"responses-lease:{response_id}"


async def lease_renew(response_id: str) -> None:
    """This process's claim on a running response, good for TOLLGATE_RESPONSES_LEASE seconds."""
    await state().add([(lease_key(response_id), 1, lease_seconds())])


async def leases_alive(response_ids: list[str]) -> set[str]:
    """Which of these responses some process still serves."""
    if not response_ids:
        return set()
    found = await state().values([lease_key(response_id) for response_id in response_ids])
    return {response_id for response_id, value in zip(response_ids, found) if value}
