"""The bench's realtime phase: the mock's WebSocket Realtime session, k6's sessions against it, the parsed rows and
the report's figures per response and per 1,000 frames."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

from bench import mock_realtime, mock_upstream, report
from bench.loadgen import tool_path
from bench.realtime import parse_k6_realtime, realtime_url, run_k6_realtime
from bench.run import Bench, Upstream, parse_args, plan_for


async def test_the_mock_streams_audio_deltas_per_response_and_ends_with_usage() -> None:
    server = await mock_upstream.serve(host="127.0.0.1", port=0, realtime_interval=0.001)
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        async with connect(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime", compression=None) as socket:
            assert json.loads(await socket.recv())["type"] == "session.created"
            for number in (1, 2):
                await socket.send(json.dumps({"type": "response.create"}))
                events = [str(await socket.recv(decode=True)) for _ in range(mock_realtime.DELTAS + 2)]
                received = time.time_ns() // 1000
                parsed = [json.loads(event) for event in events]
                assert [e["type"] for e in parsed] == ["response.created", *["response.audio.delta"]
                                                       * mock_realtime.DELTAS, "response.done"]
                deltas = events[1:-1]
                assert all(d.startswith(mock_realtime.DELTA_HEAD.decode()) for d in deltas)
                stamps = [int(d[len(mock_realtime.DELTA_HEAD):][:mock_realtime.STAMP_DIGITS]) for d in deltas]
                assert stamps == sorted(stamps) and received - 10_000_000 < stamps[0] <= received
                assert {len(e["delta"]) for e in parsed[1:-1]} == {mock_realtime.AUDIO_CHARS}
                assert len(base64.b64decode(parsed[1]["delta"])) == 3072
                assert {e["response_id"] for e in parsed[1:-1]} == {f"resp_bench{number}"}
                done = parsed[-1]["response"]
                assert (done["id"], done["status"], done["usage"]) == (f"resp_bench{number}", "completed",
                                                                       mock_realtime.USAGE)
            pong = await socket.ping(b"bench")
            await pong
            await socket.close(code=1000)
        assert socket.close_code == 1000
    finally:
        server.close()


async def test_a_plain_http_request_is_not_upgraded() -> None:
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nsec-websocket-key: abc"
    assert mock_realtime.upgrade_answer(head) is None
    answer = mock_realtime.upgrade_answer(b"GET /v1/realtime?model=m HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
    # RFC 6455's own example key and accept value.
    assert answer is not None and b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer


def test_masked_and_fragmented_client_frames_are_read_whole() -> None:
    mask, payload = b"\x01\x02\x03\x04", b'{"type":"response.create"}' * 10
    masked = mock_realtime.unmask(mask, payload)  # XOR is its own inverse
    first = bytes((0x01, 0x80 | 126)) + len(payload[:100]).to_bytes(2, "big") + mask + masked[:100]
    rest_masked = mock_realtime.unmask(mask, payload[100:])
    last = bytes((0x80, 0x80 | 126)) + len(payload[100:]).to_bytes(2, "big") + mask + rest_masked
    frames, left = mock_realtime.parse_frames(first + last + b"\x81")
    assert [(opcode, final) for opcode, final, _ in frames] == [(0x1, False), (0x0, True)]
    assert b"".join(data for _, _, data in frames) == payload and left == b"\x81"


def test_k6_realtime_summary_becomes_a_result() -> None:
    summary = {"state": {"testRunDurationMs": 4000.0}, "metrics": {
        "realtime_responses": {"values": {"count": 200, "rate": 50.0}},
        "realtime_frames_received": {"values": {"count": 4410}},
        "realtime_frames_sent": {"values": {"count": 200}},
        "realtime_failed_sessions": {"values": {"count": 1}},
        "realtime_frame_latency": {"values": {"p(50)": 0.5, "p(95)": 1.5, "p(99)": 2.5, "max": 9.5}}}}
    result = parse_k6_realtime(summary, sessions=10)
    assert (result.tool, result.mode, result.target_rate, result.connections) == ("k6", "ws-sessions", None, 10)
    assert (result.requests, result.frames, result.errors, result.achieved_rate) == (200, 4610, 1, 50.0)
    assert (result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms) == (0.5, 1.5, 2.5, 9.5)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    started = Upstream.start()
    yield started
    started.stop()


@pytest.mark.skipif(tool_path("k6") is None, reason="k6 is the bench's generator")
def test_k6_holds_the_sessions_and_counts_every_frame(upstream: Upstream) -> None:
    result = run_k6_realtime(url=upstream.realtime_url, headers={"Authorization": "Bearer sk-mock-upstream"},
                             sessions=3, responses=2, timeout=30)
    per_session = 1 + 2 * (mock_realtime.DELTAS + 2)  # session.created, then each response's frames
    assert (result.requests, result.errors, result.connections) == (6, 0, 3)
    assert result.frames == 3 * per_session + 6  # and the six response.create sent
    assert 0 <= result.p50_ms <= result.p99_ms <= result.max_ms


def test_realtime_urls_name_the_model() -> None:
    assert realtime_url("http://127.0.0.1:4000", "bench-realtime") == (
        "ws://127.0.0.1:4000/v1/realtime?model=bench-realtime")


def test_only_runs_the_named_kinds_and_no_soak_or_profile() -> None:
    plan = plan_for(parse_args(["--quick", "--only", "realtime"]))
    assert (plan.only, plan.soak_calls, plan.profile) == (("realtime",), 0, False)
    assert (plan.realtime_sessions, plan.realtime_responses) == (10, 5)
    bench = Bench(plan=plan, upstream=None)  # type: ignore[arg-type]
    assert [bench.wants(kind) for kind in ("realtime", "warm-up", "chat", "overload")] == [True, True, False, False]
    assert bench.measured(target="direct", kind="chat", run=lambda: pytest.fail("a left-out phase ran")) == {}
    full = plan_for(parse_args([]))
    assert (full.only, full.realtime_sessions, full.realtime_responses) == ((), 50, 20)


def test_realtime_rows_report_cpu_per_response_and_per_thousand_frames() -> None:
    def row(target: str, p50: float, p99: float, cpu: float) -> dict[str, object]:
        return {"target": target, "kind": "realtime", "tool": "k6", "mode": "ws-sessions", "target_rate": None,
                "connections": 10, "requests": 50, "frames": 1170, "achieved_rate": 25.0, "p50_ms": p50,
                "p95_ms": p99, "p99_ms": p99, "errors": 0, "cpu_ms_per_call": {"gateway": cpu}}

    table = report.realtime_table([row("direct", 0.5, 1.5, 0.0), row("gateway-key", 0.9, 4.0, 2.34)])
    assert table[2] == "| direct | k6 | 10 | 50 | 1170 | 25.0 | 0.50 / 1.50 | - / - | 0 | - | - |"
    # 2.34 ms x 50 responses = 117 ms over 1,170 frames: 100 ms per 1,000 frames.
    assert table[3] == "| gateway-key | k6 | 10 | 50 | 1170 | 25.0 | 0.90 / 4.00 | 0.40 / 2.50 | 0 | 2.340 | 100.000 |"
    line = report.row_line(row("gateway-key", 0.9, 4.0, 2.34))
    assert "10 sessions" in line and line.endswith("gateway cpu 2.340 ms/call, 100.000 ms per 1,000 frames")
