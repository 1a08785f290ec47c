"""Logging callbacks: every stored call reaches Langfuse, a webhook and S3, off the request path, and a
destination that is down gets every call later, once, in order."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.teams.log_callbacks import SETTLE_SECONDS, deliver_due
from apps.teams.log_callbacks.config import log_callbacks_apply
from apps.teams.models import LogCallback, SpendLog
from apps.teams.spend import spend_flush
from tests.conftest import MASTER_KEY, GatewayProcess, free_port
from tests.upstreams.log_destinations import (LANGFUSE_PUBLIC, LANGFUSE_SECRET, S3_ACCESS, S3_BUCKET, S3_REGION,
                                              S3_SECRET, FlakyResponder, destination, langfuse_answer, s3_answer,
                                              s3_object_key)
from tests.upstreams.recording import RecordingServer, Reply

pytestmark = pytest.mark.django_db(transaction=True)
LATER = timedelta(seconds=SETTLE_SECONDS + 1)


def spend_row(request_id: str, *, status: str = "success", cost: str = "0.001") -> SpendLog:
    now = timezone.now() - LATER
    return SpendLog.objects.create(request_id=request_id, model_alias="gpt", deployment_id="dep-1", provider="openai",
                                   prompt_tokens=10, completion_tokens=5, cost=cost, status=status,
                                   error_type="" if status == "success" else "timeout", start_time=now, end_time=now,
                                   key_hash="a" * 64, tags=["team-a"])


def webhook(server: RecordingServer, **fields: Any) -> LogCallback:
    return LogCallback.objects.create(name="webhook", kind="generic_api", params={"endpoint": f"{server.url}/logs"},
                                      **fields)


def test_a_destination_that_is_down_gets_every_call_later_once_in_order() -> None:
    rows = [spend_row(f"req-{n}") for n in range(5)]
    with destination(FlakyResponder(Reply.json(200, {"ok": True}), failing=1)) as server:
        callback = webhook(server)
        assert deliver_due(now=timezone.now()) == 0  # the webhook answers 500: nothing is lost, the cursor stays
        callback.refresh_from_db()
        assert (callback.cursor, callback.failures) == (0, 1) and "answered 500" in callback.last_error
        assert callback.next_attempt_at is not None and callback.next_attempt_at > timezone.now()
        assert deliver_due(now=timezone.now()) == 0 and len(server.requests) == 1, "no retry before the backoff"
        # Embedded, the session's gateway may store a call of an earlier test after its tables were emptied: such a
        # row is not this test's (its time is now, inside the window the retry below delivers).
        SpendLog.objects.exclude(pk__in=[row.pk for row in rows]).delete()
        assert deliver_due(now=callback.next_attempt_at + timedelta(seconds=1)) == 5
        callback.refresh_from_db()
        assert (callback.cursor, callback.failures, callback.delivered_total) == (rows[-1].id, 0, 5)
        # The failed batch and the good one held the same calls; the good one is the only one taken.
        assert [r["id"] for r in orjson.loads(server.requests[-1].body)] == [f"req-{n}-1" for n in range(5)]
        assert deliver_due(now=timezone.now() + LATER) == 0 and len(server.requests) == 2, "nothing sent twice"


def in_thread(work: Callable[[], object]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        finally:
            connection.close()  # this thread's own database connection
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_slow_destination_does_not_hold_up_the_spend_writes() -> None:
    """On SQLite a transaction locks the whole database: held across a delivery, it stopped the spend flush."""
    spend_row("req-slow")
    arrived, release = threading.Event(), threading.Event()

    def slow(request: Any) -> Reply:
        arrived.set()
        release.wait(60)
        return Reply.json(200, {})

    with destination(slow) as server:
        callback = webhook(server)
        delivering = in_thread(lambda: deliver_due(now=timezone.now()))
        try:
            assert arrived.wait(30), "the delivery never reached the destination"
            writing = in_thread(lambda: spend_row("req-during"))
            writing.join(60)
            callback.refresh_from_db()
            # Held up, the write landed only once the delivery had given up on the destination and said so.
            assert (callback.failures, callback.last_error) == (0, ""), "a spend write waited for the delivery"
        finally:
            release.set()
            delivering.join(30)
    assert SpendLog.objects.filter(request_id="req-during").exists()


def test_outcomes_are_sent_where_they_are_wanted_and_records_keep_litellms_names() -> None:
    spend_row("req-ok")
    spend_row("req-bad", status="failure", cost="0")
    with destination(lambda request: Reply.json(200, {})) as successes, \
            destination(lambda request: Reply.json(200, {})) as failures:
        webhook(successes)
        LogCallback.objects.create(name="failures", kind="generic_api", on_success=False, on_failure=True,
                                   params={"endpoint": failures.url, "headers": {"X-Token": "os.environ/HOME"}})
        assert deliver_due(now=timezone.now()) == 2
    [ok] = orjson.loads(successes.requests[0].body)
    [bad] = orjson.loads(failures.requests[0].body)
    assert (ok["request_id"], bad["request_id"], bad["error_type"]) == ("req-ok", "req-bad", "timeout")
    assert {"model_group", "custom_llm_provider", "response_cost", "prompt_tokens", "hashed_api_key",
            "request_tags", "startTime", "endTime"} <= ok.keys()
    assert ok["response_cost"] == 0.001 and ok["request_tags"] == ["team-a"]
    assert failures.requests[0].headers["x-token"] == str(Path.home()), "os.environ/ references are read"


def test_rows_not_yet_settled_wait_for_the_next_run() -> None:
    now = timezone.now()
    SpendLog.objects.create(request_id="req-fresh", model_alias="gpt", start_time=now, end_time=now)
    with destination(lambda request: Reply.json(200, {})) as server:
        webhook(server)
        assert deliver_due(now=now) == 0 and server.requests == []
        assert deliver_due(now=now + LATER) == 1


def test_config_success_and_failure_callbacks_become_destinations() -> None:
    ignored = log_callbacks_apply(litellm_settings={
        "success_callback": ["langfuse", "datadog", "s3"], "failure_callback": ["generic_api", "langfuse"],
        "callbacks": ["otel"],  # traces: the gateway process turns them on, no destination row
        "s3_callback_params": {"s3_bucket_name": "logs", "s3_aws_secret_access_key": "os.environ/S3_SECRET"}})
    assert ignored == ("datadog",)
    found = {c.name: (c.kind, c.on_success, c.on_failure) for c in LogCallback.objects.all()}
    assert found == {"langfuse": ("langfuse", True, True), "s3": ("s3", True, False),
                     "generic_api": ("generic_api", False, True)}
    assert LogCallback.objects.get(name="s3").params["s3_aws_secret_access_key"] == "os.environ/S3_SECRET"
    LogCallback.objects.create(name="mine", kind="generic_api", source="admin")
    log_callbacks_apply(litellm_settings={"success_callback": ["langfuse"]})
    assert set(LogCallback.objects.values_list("name", flat=True)) == {"langfuse", "mine"}


def wait_until(condition: Callable[[], bool], deadline: float = 60.0) -> None:  # a loaded CI machine took 20+ s
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "condition not met before the deadline"
        if settings.REDIS_URL:  # spend waits in Redis: flush it and deliver as the Celery task does
            spend_flush()
            deliver_due(now=timezone.now() + LATER)
        time.sleep(0.2)


def test_calls_through_the_gateway_reach_langfuse_and_s3(upstream_model: Any, tmp_path: Path) -> None:
    upstream_model("logged-gpt")
    upstream_model("down-gpt", api_base=f"http://127.0.0.1:{free_port()}/v1")
    spend_flush()  # an earlier test's calls still in Redis's buffer would be stored, and delivered, with this one's
    SpendLog.objects.all().delete()
    with destination(langfuse_answer) as langfuse, destination(s3_answer) as s3:
        LogCallback.objects.create(name="langfuse", kind="langfuse", on_failure=True, params={
            "langfuse_host": langfuse.url, "langfuse_public_key": LANGFUSE_PUBLIC,
            # A literal secret, not an os.environ/ name (read per process, tested above): embedded, the session's
            # gateway delivers these rows too, and without the variable its failures put the row in backoff.
            "langfuse_secret": LANGFUSE_SECRET})
        LogCallback.objects.create(name="s3", kind="s3", params={
            "s3_bucket_name": S3_BUCKET, "s3_region_name": S3_REGION, "s3_endpoint_url": s3.url, "s3_path": "tollgate",
            "s3_aws_access_key_id": S3_ACCESS, "s3_aws_secret_access_key": S3_SECRET})
        gateway = GatewayProcess(log_dir=tmp_path)
        try:
            client = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{gateway.url}/v1", max_retries=0)
            answers = [client.chat.completions.create(model="logged-gpt", messages=[{"role": "user", "content": "hi"}])
                       for _ in range(3)]
            with pytest.raises(openai.APIStatusError):
                client.chat.completions.create(model="down-gpt", messages=[{"role": "user", "content": "hi"}])

            def generations() -> list[dict[str, Any]]:
                """Each generation once: delivery is at least once (a batch whose cursor update failed goes again),
                under the call's own ids, which Langfuse upserts."""
                sent = [e["body"] for r in langfuse.requests for e in r.json()["batch"] if e["type"] == "generation-create"]
                return list({g["id"]: g for g in sent}.values())

            wait_until(lambda: len(generations()) >= 4 and len(s3.requests) >= 1)
        finally:
            gateway.stop()
        assert langfuse.failures == [] and s3.failures == [], langfuse.failures + s3.failures
        models = sorted(g["model"] for g in generations())
        assert models == ["down-gpt", "logged-gpt", "logged-gpt", "logged-gpt"]
        assert {g["level"] for g in generations() if g["model"] == "down-gpt"} == {"ERROR"}
        assert all(g["usage"]["unit"] == "TOKENS" for g in generations())
        lines = list({line["id"]: line for line in (orjson.loads(raw) for request in s3.requests
                                                     for raw in request.body.splitlines())}.values())
        assert sorted(line["model_group"] for line in lines) == ["logged-gpt"] * 3, "s3 takes successes only"
        assert all(s3_object_key(request).startswith("tollgate/") for request in s3.requests)
        assert {a.id for a in answers} and MASTER_KEY not in str(lines)


def test_retention_keeps_rows_a_callback_has_not_taken() -> None:
    from apps.teams.retention import spend_prune
    from apps.teams.rollup import spend_rollup

    old = timezone.now() - timedelta(days=40)
    rows = [SpendLog.objects.create(request_id=f"req-old-{n}", model_alias="gpt", start_time=old, end_time=old)
            for n in range(4)]
    spend_rollup()
    LogCallback.objects.create(name="behind", kind="generic_api", cursor=rows[1].id)
    assert spend_prune(days=30) == 2
    assert sorted(SpendLog.objects.values_list("request_id", flat=True)) == ["req-old-2", "req-old-3"]
