"""Spend logs are never lost: failed attempts are logged, a database outage waits in the buffer,
SIGTERM flushes before exit, and a real Celery worker (beat included) drains the Redis buffer."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.core.state import state
from apps.teams.models import SpendLog, VirtualKey
from apps.teams.spend import spend_flush
from tests.conftest import ROOT, GatewayProcess, database_url
from tests.teams.conftest import Cast, chat, client, make_key, wait_for_buffered, wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

ONE_CALL = Decimal("0.005")


def test_every_upstream_attempt_gets_a_row(cast: Cast, upstream_model, upstream: OpenAIUpstream,
                                           gateway: GatewayProcess) -> None:
    upstream_model(output_cost_per_token=Decimal("0.001"), input_cost_per_token=Decimal(0))
    upstream.reply_with(Reply.json(500, {"error": {"message": "boom"}}))
    with client(gateway, cast.bob.secret) as http:
        response = http.post("/v1/chat/completions", headers={"x-request-id": "req-retried"},
                             json={"model": "upstream-gpt", "num_retries": 1, "max_tokens": 5,
                                   "messages": [{"role": "user", "content": "hello"}]})
    assert response.status_code == 200
    rows = wait_for_spend_rows(2, request_id="req-retried")
    assert [(r.attempt, r.status, r.cost, r.completion_tokens) for r in rows] == [
        (1, "failure", Decimal(0), 0), (2, "success", ONE_CALL, 5)]
    assert rows[0].error_type and rows[1].key_id == cast.bob.key.pk  # type: ignore[union-attr]


def test_a_repeated_event_is_stored_once(cast: Cast, priced, gateway: GatewayProcess) -> None:
    if not settings.REDIS_URL:
        pytest.skip("the test process can only reach the buffer through Redis")
    priced()
    with client(gateway, cast.bob.secret) as http:
        assert chat(http, max_tokens=5).status_code == 200
    assert wait_for_buffered(1) == 1
    backend = state()
    [event] = backend.spend_peek(10)
    backend.spend_ack(0)
    import asyncio

    asyncio.run(push_fresh(event))  # as if a flush crashed after its commit and ran again
    assert spend_flush().stored == 1 and spend_flush().stored == 0
    assert SpendLog.objects.count() == 1
    assert VirtualKey.objects.get(pk=cast.bob.key.pk).spend == ONE_CALL  # type: ignore[union-attr]


async def push_fresh(event: bytes) -> None:
    from apps.core.state.redis import RedisState

    await RedisState().spend_push(event)


def pg_cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
                   + (["-m", "fast"] if action == "stop" else []), check=True, capture_output=True)
    if action == "start":
        deadline = time.monotonic() + 30
        while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
            assert time.monotonic() < deadline, "PostgreSQL did not come back"
            time.sleep(0.1)


@pytest.mark.pg_outage
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
def test_spend_waits_out_a_database_outage(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, secret = make_key(cast.bob.user, cast.team_a, max_budget=Decimal(1))
    with client(gateway, secret) as http:
        assert [chat(http, max_tokens=5).status_code for _ in range(5)] == [200] * 5
        assert len(wait_for_spend_rows(5, key_id=key.pk)) == 5
        pg_cluster("stop")
        try:
            assert [chat(http, max_tokens=5).status_code for _ in range(10)] == [200] * 10
            if settings.REDIS_URL:
                with pytest.raises(Exception):  # noqa: B017 - whichever driver error a dead server gives
                    spend_flush()
                assert wait_for_buffered(10) == 10
        finally:
            pg_cluster("start")
    connection.close()  # this process's connection died with the server
    rows = wait_for_spend_rows(15, key_id=key.pk)
    assert len(rows) == 15
    assert VirtualKey.objects.get(pk=key.pk).spend == 15 * ONE_CALL


def test_sigterm_flushes_spend_before_exit(cast: Cast, priced, tmp_path: Path) -> None:
    priced()
    key, secret = make_key(cast.bob.user, cast.team_a)
    server = GatewayProcess(log_dir=tmp_path, extra_env={"TOLLGATE_SPEND_FLUSH_INTERVAL": "0"})
    try:
        with client(server, secret) as http:
            assert [chat(http, max_tokens=5).status_code for _ in range(8)] == [200] * 8
        assert SpendLog.objects.filter(key_id=key.pk).count() == 0
    finally:
        server.stop()  # SIGTERM, then wait for the exit
    # uvicorn re-raises the SIGTERM it handled once shutdown is done, so the exit status is -15.
    assert server.process.returncode in (0, -15), server.log_path.read_text()
    assert SpendLog.objects.filter(key_id=key.pk).count() == 8
    assert VirtualKey.objects.get(pk=key.pk).spend == 8 * ONE_CALL


def test_celery_worker_with_beat_drains_the_buffer(cast: Cast, priced, gateway: GatewayProcess,
                                                   tmp_path: Path) -> None:
    if not settings.REDIS_URL:
        pytest.skip("Celery runs eagerly in-process without a Redis broker")
    priced()
    key, secret = make_key(cast.bob.user, cast.team_a)
    with client(gateway, secret) as http:
        assert [chat(http, max_tokens=5).status_code for _ in range(6)] == [200] * 6
    assert wait_for_buffered(6) == 6
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
           "TOLLGATE_SPEND_FLUSH_EVERY": "0.5"}
    log = (tmp_path / "celery.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "gatewaysite", "worker", "-B", "--pool=solo",
                               "-s", str(tmp_path / "beat-schedule"), "--loglevel=INFO"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while SpendLog.objects.filter(key_id=key.pk).count() < 6:
            assert worker.poll() is None and time.monotonic() < deadline, (tmp_path / "celery.log").read_text()
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    assert "apps.teams.tasks.spend_flush_task" in (tmp_path / "celery.log").read_text()
    assert VirtualKey.objects.get(pk=key.pk).spend == 6 * ONE_CALL and state().spend_pending() == 0
