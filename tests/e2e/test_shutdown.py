"""SIGTERM drains (LiteLLM #14334 cut in-flight streams): the server stops accepting at once, the calls and
streams already open finish and are billed, spend is flushed, and the process exits 0; past the grace period
the calls still open are cut, billed for what they streamed, and the process still exits 0."""
from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.teams.models import SpendLog
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream, mock_answer, paced
from tests.upstreams.recording import Recorded, Reply

HEADERS = {"Authorization": f"Bearer {MASTER_KEY}"}


def chat_body(content: str, *, stream: bool = False) -> dict[str, Any]:
    return {"model": "upstream-gpt", "messages": [{"role": "user", "content": content}], "stream": stream}


def slow_json(delay: float) -> Callable[[Recorded], Reply]:
    """The mock's JSON answer, its two halves `delay` seconds apart (a non-streamed call that takes a while)."""
    def respond(request: Recorded) -> Reply:
        body = mock_answer(request).body
        return Reply.stream([body[:20], body[20:]], content_type="application/json", delay=delay)
    return respond


def wait_until(condition: Callable[[], bool], *, timeout: float = 15.0, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def not_served(url: str) -> bool:
    """Whether a new connection goes unanswered: refused (one worker closes its socket), or, with several workers,
    left in the supervisor's backlog that no worker accepts from any more until the process exits."""
    try:
        return httpx.get(f"{url}/health/liveliness", timeout=0.5).status_code != 200
    except httpx.HTTPError:
        return True


def in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_refuses_new_calls_finishes_open_ones_bills_them_and_exits_0(
        workers: str, upstream_model, upstream: OpenAIUpstream, tmp_path: Path) -> None:
    upstream_model(timeout=60)
    upstream.reply_with(slow_json(4.0), paced(0.5))
    server = GatewayProcess(log_dir=tmp_path, extra_env={"WORKERS": workers, "TOLLGATE_SPEND_FLUSH_INTERVAL": "0"})
    results: dict[str, Any] = {}

    def plain_call() -> None:
        results["plain"] = httpx.post(f"{server.url}/v1/chat/completions", json=chat_body("drain a call"),
                                      headers={**HEADERS, "x-request-id": "drain-call"}, timeout=30)

    def streamed_call() -> None:
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=chat_body("drain a stream", stream=True),
                          headers={**HEADERS, "x-request-id": "drain-stream"}, timeout=30) as response:
            results["stream"] = [line for line in response.iter_lines() if line]

    try:
        threads = [in_thread(plain_call)]
        wait_until(lambda: len(upstream.requests) == 1, what="the plain call to reach the upstream")
        threads.append(in_thread(streamed_call))
        wait_until(lambda: len(upstream.requests) == 2, what="the stream to reach the upstream")
        server.process.send_signal(signal.SIGTERM)
        wait_until(lambda: not_served(server.url), what="new connections to go unserved")
        assert all(thread.is_alive() for thread in threads), "both calls were still open when accepting stopped"
        for thread in threads:
            thread.join(timeout=30)
        assert results["plain"].status_code == 200, results["plain"].text
        assert results["plain"].json()["choices"][0]["message"]["content"]
        assert results["stream"][-1] == "data: [DONE]"
        assert server.process.wait(timeout=30) == 0, server.log_path.read_text()
    finally:
        server.stop()
    assert upstream.hangups == 0
    rows = {row.request_id: row for row in SpendLog.objects.filter(request_id__in=["drain-call", "drain-stream"])}
    assert set(rows) == {"drain-call", "drain-stream"}, "the spend of both drained calls was flushed before exit"
    assert all(row.status == "success" and row.completion_tokens > 0 for row in rows.values())


def test_past_the_grace_period_open_streams_are_cut_billed_and_the_exit_is_still_0(
        upstream_model, upstream: OpenAIUpstream, tmp_path: Path) -> None:
    upstream_model(timeout=120)
    upstream.reply_with(paced(1.0))  # one event a second: far longer than the grace period
    server = GatewayProcess(log_dir=tmp_path, extra_env={"TOLLGATE_SHUTDOWN_GRACE": "2",
                                                          "TOLLGATE_SPEND_FLUSH_INTERVAL": "0"})
    try:
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=chat_body("outlive the grace", stream=True),
                          headers={**HEADERS, "x-request-id": "cut-stream"}, timeout=60) as response:
            lines = response.iter_lines()
            assert next(line for line in lines if line).startswith("data: {")
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(httpx.HTTPError):  # the stream is cut, not finished
                for _ in lines:
                    pass
        assert server.process.wait(timeout=30) == 0, server.log_path.read_text()
        assert time.monotonic() - signalled < 15, "the grace period bounds the drain"
    finally:
        server.stop()
    wait_until(lambda: upstream.hangups == 1, what="the upstream to see the cut")
    [row] = SpendLog.objects.filter(request_id="cut-stream")
    assert row.completion_tokens > 0, "a cut stream is billed for what it streamed"
