"""Which stored background responses were left running by a process that is gone (`responses_orphans.orphaned`):
records built here, leases in this process's state backend (Redis in the PostgreSQL + Redis runs)."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.core.state import state
from apps.routing import responses_background as background
from apps.routing.responses_background import Watch
from apps.routing.responses_leases import lease_renew
from apps.routing.responses_orphans import STARTED, lost, orphaned
from apps.routing.responses_store import ResponseRecord


def record(*, status: str = "queued", background_call: bool = True, upstream_id: str = "",
           age: timedelta = timedelta(minutes=5)) -> ResponseRecord:
    body: dict[str, Any] = {"id": f"resp_{uuid.uuid4().hex}", "object": "response", "status": status}
    if background_call:
        body["background"] = True
    return ResponseRecord(response_id=body["id"], key_id=None, team_id="", model_group="m", deployment_id="d",
                          provider="hosted_vllm", upstream_id=upstream_id, previous_response_id="", body=body,
                          input_items=[], context=[], created_at=timezone.now() - age)


@pytest.mark.parametrize("left", [
    pytest.param(record(status="completed"), id="ended_case"),
    pytest.param(record(background_call=False), id="not_background_case"),
    pytest.param(record(upstream_id="resp_provider1"), id="passed_through_case"),
    pytest.param(replace(record(), created_at=None), id="not_stored_case"),
])
async def test_what_is_not_running_over_chat_is_never_lost(left: ResponseRecord) -> None:
    assert not await orphaned(left)


async def test_one_running_in_this_process_is_not_lost() -> None:
    mine = record()
    background.WATCHES[mine.response_id] = Watch(meter=None, deployment=None)  # type: ignore[arg-type]
    try:
        assert not await orphaned(mine)
    finally:
        background.WATCHES.pop(mine.response_id, None)


@pytest.mark.skipif(state().in_process, reason="one process serves without a shared backend: the test below")
async def test_with_a_shared_backend_the_lease_tells(settings: Any) -> None:
    settings.TOLLGATE_RESPONSES_LEASE = 30.0
    assert await orphaned(record())  # older than a lease, and no process holds it
    assert not await orphaned(record(age=timedelta(seconds=1)))  # too young to tell: its lease may not be written
    held = record()
    await lease_renew(held.response_id)
    assert not await orphaned(held)


@pytest.mark.skipif(not state().in_process, reason="with a shared backend the lease tells (the test above)")
async def test_without_one_a_response_made_before_this_process_started_is_lost() -> None:
    assert await orphaned(replace(record(), created_at=STARTED - timedelta(seconds=1)))
    assert not await orphaned(replace(record(), created_at=timezone.now()))


def test_a_lost_response_says_so_in_openais_error_shape() -> None:
    body = lost({"id": "resp_1", "status": "in_progress", "background": True})
    assert body == {"id": "resp_1", "status": "failed", "background": True,
                    "error": {"code": "server_error", "message": "The gateway process running this response went "
                                                                 "away before it ended."}}


def test_beat_runs_the_reaper() -> None:
    from django.conf import settings

    from apps.routing.tasks import responses_reap_task

    entry = settings.CELERY_BEAT_SCHEDULE["responses-reap"]
    assert (entry["task"], entry["schedule"]) == (responses_reap_task.name, settings.TOLLGATE_RESPONSES_REAP_EVERY)
