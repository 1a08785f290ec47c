"""The overload phase's pure parts: refusals counted apart by wrk's script, and the report's section and targets."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import report
from bench.loadgen import WRK_MARK, parse_wrk_output, run_wrk, tool_path
from bench.run import parse_args, plan_for


class TakesTurns(BaseHTTPRequestHandler):
    """Answers its server's requests in turn: 503 with Retry-After, 429 without it, then 200."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway: wrk sends every request on one connection
    disable_nagle_algorithm = True  # the body goes in a write of its own: without it, each answer waits for an ACK

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        server: CountingServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.answered += 1
            turn = server.answered % 3
        status, extra = {1: (503, [("Retry-After", "1")]), 2: (429, []), 0: (200, [])}[turn]
        self.send_response(status)
        for name, value in [*extra, ("Content-Length", "2")]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


class CountingServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TakesTurns)
        self.answered = 0
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # wrk hangs up mid-request when its time is up


@pytest.fixture
def taking_turns() -> Iterator[str]:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(tool_path("wrk") is None, reason="wrk is not installed")
def test_wrk_counts_refusals_apart_from_errors_and_those_carrying_retry_after(taking_turns: str) -> None:
    result = run_wrk(url=taking_turns, body=b"{}", headers={}, duration=1, connections=1, count_refusals=True)
    # One connection answers in order, so wrk counted a prefix of the turns: 503+Retry-After, 429, 200, ...
    turns = [n % 3 for n in range(1, result.requests + 1)]
    assert result.requests > 3
    assert (result.refused, result.refused_with_retry_after) == (turns.count(1) + turns.count(2), turns.count(1))
    assert (result.errors, result.ok) == (0, turns.count(0))


def test_refused_answers_are_not_errors_nor_served_calls() -> None:
    line = ('{"requests":9000,"duration_us":5000000,"connect":0,"read":4,"write":0,"status":7001,"timeout":1,'
            '"p50":1500,"p95":4000,"p99":9000,"max":20000,"refused":7000,"retry_after":6999}')
    result = parse_wrk_output(f"{WRK_MARK}{line}\n", connections=512)
    assert (result.requests, result.refused, result.refused_with_retry_after, result.errors, result.ok) == (
        9000, 7000, 6999, 6, 1994)
    assert (result.p50_ms, result.p99_ms, result.max_ms) == (1.5, 9.0, 20.0)


def overload_row(*, limit: int, served: int, refused: int, with_retry_after: int, p99_ms: float) -> report.Row:
    return {"target": "gateway-master", "kind": "overload", "tool": "wrk", "target_rate": None, "connections": 512,
            "in_flight_limit": limit, "duration_s": 10.0, "requests": served + refused + 2, "errors": 2,
            "refused": refused, "refused_with_retry_after": with_retry_after, "p50_ms": 2.5, "p95_ms": 20.0,
            "p99_ms": p99_ms, "max_ms": 900.0, "cpu_ms_per_call": {"gateway": 0.5}}


LIMIT_ON = overload_row(limit=32, served=8000, refused=50000, with_retry_after=50000, p99_ms=40.0)
LIMIT_OFF = overload_row(limit=0, served=12000, refused=0, with_retry_after=0, p99_ms=480.0)


def test_overload_section_sets_the_limit_against_no_limit() -> None:
    assert report.overload_table([LIMIT_ON, LIMIT_OFF]) == [
        "| in-flight limit per worker | connections | served calls/s | refused calls/s (503/429) "
        "| refusals with Retry-After | p50 / p99 / max ms (all answers) | errors |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
        "| on, 32 | 512 | 800 | 5000 | 100.0% | 2.50 / 40.00 / 900.00 | 2 |",
        "| off | 512 | 1200 | 0 | - | 2.50 / 480.00 / 900.00 | 2 |"]


def test_report_has_the_past_saturation_section_only_when_the_phase_ran() -> None:
    results = {"started": "2026-01-01T00:00:00+00:00", "mode": "postgres+redis", "workers": 2,
               "host": {"cores": 2, "python": "3.11"}, "tools": {"wrk": "wrk 4.1", "k6": "k6 1.1"},
               "plan": {"duration": 5.0}}
    section = "## Past saturation (in-flight limit)"
    assert section not in report.markdown({**results, "rows": []})
    text = report.markdown({**results, "rows": [LIMIT_ON, LIMIT_OFF]})
    table = report.overload_table([LIMIT_ON, LIMIT_OFF])
    assert "\n".join(table) in text.split(section)[1].split("## Memory")[0]


def past_saturation(rows: list[report.Row]) -> list[str]:
    return [line for line in report.targets({"rows": rows}) if "past saturation" in line]


def test_past_saturation_targets_pass_on_a_bounded_p99_and_retry_after_on_every_refusal() -> None:
    assert past_saturation([LIMIT_ON, LIMIT_OFF]) == [
        "| past saturation: p99 <= 100 ms with the in-flight limit (wrk, all answers) | 40.000 | pass |",
        "| past saturation: refusals carry Retry-After | 50000 of 50000 | pass |"]


@pytest.mark.parametrize(("row", "expected"), [
    (overload_row(limit=32, served=8000, refused=50000, with_retry_after=49999, p99_ms=250.0), [
        "| past saturation: p99 <= 100 ms with the in-flight limit (wrk, all answers) | 250 | **FAIL** |",
        "| past saturation: refusals carry Retry-After | 49999 of 50000 | **FAIL** |"]),
    (overload_row(limit=32, served=8000, refused=0, with_retry_after=0, p99_ms=40.0), [
        "| past saturation: p99 <= 100 ms with the in-flight limit (wrk, all answers) | 40.000 | pass |",
        "| past saturation: refusals carry Retry-After | no refusals: the limit was not reached | - |"]),
], ids=["slow_and_bare_refusal_case", "limit_not_reached_case"])
def test_past_saturation_targets_fail_or_stay_open_on_what_was_measured(row: report.Row, expected: list[str]) -> None:
    assert past_saturation([row]) == expected


def test_past_saturation_targets_are_not_measured_without_the_phase() -> None:
    assert past_saturation([]) == [
        "| past saturation: p99 <= 100 ms with the in-flight limit (wrk, all answers) | not measured | - |",
        "| past saturation: refusals carry Retry-After | not measured | - |"]


def test_quick_runs_overload_with_many_connections_against_a_small_limit() -> None:
    plan = plan_for(parse_args(["--quick"]))
    assert (plan.overload_duration, plan.overload_connections, plan.overload_in_flight) == (5.0, 512, 32)
    plan = plan_for(parse_args(["--duration", "20", "--overload-connections", "256", "--overload-in-flight", "8"]))
    assert (plan.overload_duration, plan.overload_connections, plan.overload_in_flight) == (10.0, 256, 8)
