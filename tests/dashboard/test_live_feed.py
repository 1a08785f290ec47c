"""The live calls-per-second feed over the Channels WebSocket: logged-in viewers only, a team admin its teams' calls."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from apps.teams.live_feed import feed_count
from gatewaysite.asgi import application
from tests.dashboard.conftest import logged_in
from tests.teams.conftest import Cast


@pytest.fixture(autouse=True)
async def close_thread_connections(transactional_db: None) -> AsyncIterator[None]:
    """The consumer's database reads run in asgiref's thread: close its connection, or the test database stays open."""
    yield
    await database_sync_to_async(connections.close_all)()


def socket_for(browser: Client | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if browser is not None:
        cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/dashboard/feed/", headers=headers)


async def seconds_until(socket: WebsocketCommunicator, wanted: Any, *, timeout: float = 10.0) -> list[dict[str, int]]:
    """Read feed messages until one second matches `wanted`; fail at the deadline."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, int]] = []
    while time.monotonic() < deadline:
        message = await socket.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
        seen.extend(message["seconds"])
        if any(wanted(second) for second in message["seconds"]):
            return seen
    raise AssertionError(f"no second matched in {seen[-5:]}")


async def test_a_team_admin_is_pushed_its_teams_calls_per_second(cast: Cast) -> None:
    socket = socket_for(await sync_to_async(logged_in)(cast.alice.user))
    connected, _ = await socket.connect()
    assert connected
    history = (await socket.receive_json_from(timeout=5))["seconds"]
    assert len(history) == 60  # the last minute first
    for _ in range(3):
        feed_count("calls", cast.team_a.team_id)
    feed_count("errors", cast.team_a.team_id)
    feed_count("refused", cast.team_a.team_id)
    for _ in range(5):
        feed_count("calls", cast.team_b.team_id)  # mallory's team: never in alice's feed
    seen = await seconds_until(socket, lambda s: s["calls"] > 0)
    busy = [s for s in seen if s["calls"]]
    assert [(s["calls"], s["errors"], s["refused"]) for s in busy] == [(3, 1, 1)]
    await socket.disconnect()


async def test_staff_see_every_teams_calls(cast: Cast, staff) -> None:
    socket = socket_for(await sync_to_async(logged_in)(staff))
    assert (await socket.connect())[0]
    await socket.receive_json_from(timeout=5)
    feed_count("calls", cast.team_a.team_id)
    feed_count("calls", None)  # the master key: no team
    feed_count("calls", cast.team_b.team_id)
    seen = await seconds_until(socket, lambda s: s["calls"] > 0)
    assert sum(s["calls"] for s in seen) == 3
    await socket.disconnect()


async def test_anonymous_and_plain_members_are_turned_away(cast: Cast) -> None:
    for browser in (None, await sync_to_async(logged_in)(cast.bob.user)):
        socket = socket_for(browser)
        connected, code = await socket.connect()
        assert (connected, code) == (False, 4403)
