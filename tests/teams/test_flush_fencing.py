"""Two spend flushers overlapping: one stalls past its lock (TOLLGATE_SPEND_FLUSH_LOCK_SECONDS) after storing a
batch, another takes over and flushes everything, more calls come in, then the first wakes up. Every event is
stored exactly once and the spend totals equal the rows."""
from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from apps.teams import spend
from apps.teams.models import SpendLog, Team, VirtualKey
from apps.teams.spend import FlushResult, spend_flush
from tests.teams.conftest import Cast, buffer, spend_event

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the in-process flush lock never expires")


def test_a_flush_that_outlives_its_lock_loses_and_doubles_nothing(cast: Cast, monkeypatch: Any) -> None:
    monkeypatch.setattr(settings, "TOLLGATE_SPEND_FLUSH_LOCK_SECONDS", 1.0)
    key = cast.bob.key
    assert key is not None
    first = [f"req-first-{n}" for n in range(4)]
    later = [f"req-later-{n}" for n in range(3)]
    buffer(*[spend_event(request_id, key, "0.01") for request_id in first])
    stalled, wake = threading.Event(), threading.Event()
    store = spend.spend_store
    slow: dict[str, Any] = {}

    def stalling_store(records: Any) -> FlushResult:
        result = store(records)  # committed
        if threading.current_thread() is slow.get("thread") and not stalled.is_set():
            stalled.set()
            assert wake.wait(60)
        return result

    def slow_flush() -> None:
        try:
            slow["result"] = spend_flush(batch=len(first))
        finally:
            connection.close()

    monkeypatch.setattr(spend, "spend_store", stalling_store)
    slow["thread"] = thread = threading.Thread(target=slow_flush)
    thread.start()
    try:
        assert stalled.wait(30)
        deadline = time.monotonic() + 30
        while (taken := spend_flush()).busy:  # until the stalled flusher's lock has expired
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert (taken.stored, taken.duplicates) == (0, len(first))  # the stalled one had committed them
        buffer(*[spend_event(request_id, key, "0.01") for request_id in later])
    finally:
        wake.set()
        thread.join(60)
    spend_flush()
    rows = SpendLog.objects.filter(key_id=key.pk)
    assert sorted(row.request_id for row in rows) == sorted(first + later)
    total = Decimal("0.01") * (len(first) + len(later))
    assert VirtualKey.objects.get(pk=key.pk).spend == total
    assert Team.objects.get(pk=cast.team_a.pk).spend == total
    assert slow["result"].busy and slow["result"].stored == len(first)  # it saw it lost the lock, and stopped
