"""The benchmark's pure parts: output parsing, the mock upstream, the config it loads. No timing asserts."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.providers.registry import ADAPTERS
from apps.routing.config import load_config_file
from bench import mock_upstream, profile, report
from bench.gateway import MODEL, Gateway, config_yaml
from bench.loadgen import WRK_MARK, parse_k6_summary, parse_wrk_output, wrk_script
from bench.run import parse_args, plan_for, preflight

WRK_STDOUT = f"""Running 5s test @ http://127.0.0.1:4000/v1/chat/completions
  1 threads and 64 connections
  10000 requests in 5.00s, 4.2MB read
Requests/sec:   2000.00
{WRK_MARK}{{"requests":10000,"duration_us":5000000,"connect":0,"read":1,"write":0,"status":2,"timeout":0,"p50":1500,"p95":4000,"p99":9000,"max":20000}}
"""


def test_wrk_summary_line_becomes_a_result() -> None:
    result = parse_wrk_output(WRK_STDOUT, connections=64)
    assert (result.tool, result.mode, result.requests, result.errors, result.connections) == ("wrk", "closed-loop",
                                                                                                10000, 3, 64)
    assert (result.achieved_rate, result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms) == (2000.0, 1.5, 4.0,
                                                                                                  9.0, 20.0)


def test_wrk_output_without_summary_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="no summary line"):
        parse_wrk_output("unable to connect to 127.0.0.1:4000 Connection refused\n")


def test_wrk_script_posts_the_body_with_headers() -> None:
    script = wrk_script(body=b'{"model":"m","x":"]]"}', headers={"Authorization": "Bearer sk-1"})
    assert 'wrk.method = "POST"' in script
    assert 'wrk.body = [=[{"model":"m","x":"]]"}]=]' in script
    assert "wrk.headers[ [[Authorization]] ] = [[Bearer sk-1]]" in script


def test_k6_summary_becomes_a_result() -> None:
    summary = {"state": {"testRunDurationMs": 10000.0}, "metrics": {
        "http_reqs": {"values": {"count": 5000, "rate": 499.9}},
        "http_req_failed": {"values": {"passes": 4, "fails": 4996, "rate": 0.0008}},
        "http_req_duration": {"values": {"p(50)": 1.25, "p(95)": 2.5, "p(99)": 7.0, "max": 30.0}},
        "http_req_waiting": {"values": {"p(50)": 1.0, "p(95)": 2.0, "p(99)": 6.0}},
        "dropped_iterations": {"values": {"count": 3}}}}
    result = parse_k6_summary(summary, rate=500)
    assert (result.tool, result.mode, result.target_rate, result.requests, result.errors, result.dropped) == (
        "k6", "constant-arrival-rate", 500, 5000, 4, 3)
    assert (result.achieved_rate, result.p50_ms, result.p99_ms, result.ttfb_p50_ms) == (499.9, 1.25, 7.0, 1.0)


async def exchange(request: bytes) -> bytes:
    """Send raw bytes to a fresh mock upstream and read until it has answered everything."""
    server = await mock_upstream.serve(host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    data = b""
    try:
        while True:
            data += await asyncio.wait_for(reader.read(65536), timeout=0.5)
    except asyncio.TimeoutError:
        pass
    writer.close()
    server.close()
    return data


def post(body: bytes, path: str = "/v1/chat/completions") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def test_mock_upstream_answers_a_chat_completion() -> None:
    data = await exchange(post(b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'))
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    answer = json.loads(body)
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == "This is a canned answer from the mock."
    assert answer["usage"] == {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}


async def test_mock_upstream_streams_events_ending_in_usage_and_done() -> None:
    data = await exchange(post(b'{"model":"gpt-4o-mini","stream": true,"messages":[]}'))
    assert data.startswith(b"HTTP/1.1 200 OK") and b"transfer-encoding: chunked" in data
    events = [line[6:].strip() for line in data.split(b"\r\n") if line.startswith(b"data: ")]
    assert events[-1] == b"[DONE]"
    assert json.loads(events[-2])["usage"]["total_tokens"] == 20
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-2] if json.loads(e)["choices"])
    assert text == "This is a canned answer from the mock."
    assert data.endswith(b"0\r\n\r\n")


async def test_mock_upstream_answers_pipelined_requests_in_order() -> None:
    data = await exchange(post(b"{}", "/v1/models") + post(b'{"messages":[]}') + post(b"{}", "/nope"))
    statuses = re.findall(rb"HTTP/1\.1 [^\r]+", data)
    assert statuses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK", b"HTTP/1.1 404 Not Found"]
    assert data.index(b'"object":"list"') < data.index(b'"object":"chat.completion"')


def test_generated_config_loads_two_openai_deployments_and_the_others_on_the_mock(
        tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "config.yaml"  # type: ignore[operator]
    path.write_text(config_yaml(upstream_port=9999, deployments=2))
    config = load_config_file(str(path), set(ADAPTERS))
    assert [(d.model_name, d.provider, d.provider_model, d.api_base) for d in config.deployments] == [
        *[(MODEL, "openai", "gpt-4o-mini", "http://127.0.0.1:9999/v1")] * 2,
        ("bench-realtime", "openai", "gpt-realtime", "http://127.0.0.1:9999/v1"),
        ("bench-rerank", "cohere", "rerank-v3.5", "http://127.0.0.1:9999")]
    assert config.warnings == ()


def test_bench_refuses_to_run_without_postgres_and_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    problems = preflight(parse_args([]))
    assert any(p.startswith("DATABASE_URL is not set") for p in problems)
    assert any(p.startswith("REDIS_URL is not set") for p in problems)
    assert not any("_URL" in p for p in preflight(parse_args(["--embedded"])))


def test_profile_summary_splits_samples_by_component() -> None:
    raw = ("process 1:main;handle (django/core/handlers/asgi.py:10);authenticate (/r/apps/teams/auth.py:50) 3\n"
           "process 1:main;handle (django/core/handlers/asgi.py:10);send (httpx/_client.py:1) 1\n")
    summary = profile.summarise(raw)
    assert summary.total == 4
    assert dict(summary.self_by_bucket) == {"tollgate auth": 3, "httpx": 1}
    assert dict(summary.inclusive)["ASGI handler (Django, whole request)"] == 4
    assert dict(summary.inclusive)["authenticate"] == 3


def test_overhead_is_gateway_minus_direct_at_the_same_rate() -> None:
    rows = [{"target": "direct", "kind": "chat", "tool": "k6", "target_rate": 500, "p50_ms": 0.25},
            {"target": "gateway-master", "kind": "chat", "tool": "k6", "target_rate": 500, "p50_ms": 1.0},
            {"target": "gateway-master", "kind": "chat", "tool": "k6", "target_rate": 100, "p50_ms": 1.0}]
    assert report.overhead(rows, rows[1], "p50_ms") == 0.75
    assert report.overhead(rows, rows[2], "p50_ms") is None


FORKS_A_WORKER = "import os, sys, time\nchild = os.fork()\nif child:\n    print(child, flush=True)\nsys.stdin.read()\n"


@pytest.fixture
def supervisor() -> Iterator[subprocess.Popen[bytes]]:
    """A process that forks one child (as granian forks its workers) and prints the child's pid."""
    process = subprocess.Popen([sys.executable, "-c", FORKS_A_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    yield process
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=10)


def test_workers_are_the_supervisors_children(supervisor: subprocess.Popen[bytes], tmp_path: Path) -> None:
    assert supervisor.stdout is not None
    child = int(supervisor.stdout.readline())
    gateway = Gateway(workdir=tmp_path, upstream_port=1, workers=1, embedded=True, serve=supervisor)
    assert gateway.worker_pids() == [child]


def test_a_supervisor_without_children_is_its_own_worker(tmp_path: Path) -> None:
    lone = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        gateway = Gateway(workdir=tmp_path, upstream_port=1, workers=1, embedded=True, serve=lone)
        assert gateway.worker_pids() == [lone.pid]
    finally:
        assert lone.stdin is not None
        lone.stdin.close()
        lone.wait(timeout=10)


def test_calibration_measures_python_speed_and_loopback_round_trips() -> None:
    from bench import calibrate

    assert calibrate.workload() == calibrate.workload() > 0  # fixed work, same answer every time
    assert calibrate.python_ms(repeats=1) > 0
    assert 0 < calibrate.loopback_rtt_us(round_trips=50) < 100_000


def test_report_names_the_machine_speed() -> None:
    from bench import report

    assert report.machine_line({}) == []
    line = report.machine_line({"machine": {"python_ms": 205.0, "loopback_rtt_us": 30.4}})[-1]
    assert "205 ms" in line and "30 µs" in line


def test_the_embedded_mode_is_benched_with_its_one_worker() -> None:
    assert parse_args([]).workers == 2 and parse_args(["--workers", "3"]).workers == 3
    assert parse_args(["--embedded"]).workers == 1
    assert any("one worker" in p for p in preflight(parse_args(["--embedded", "--workers", "2"])))


def test_a_phase_waits_until_its_spend_events_are_stored_but_not_forever() -> None:
    from bench.gateway import wait_until_stored

    waiting = iter([3, 2, 0, 5])
    assert wait_until_stored(lambda: next(waiting), timeout=5, poll=0.01) < 1
    assert next(waiting) == 5  # stopped asking once nothing waited
    assert wait_until_stored(lambda: None, timeout=5, poll=0.01) < 1  # unknown (embedded): no wait
    assert 0.2 <= wait_until_stored(lambda: 1, timeout=0.2, poll=0.01) < 1


def test_the_streaming_first_token_target_is_judged_at_500_per_second_and_100_is_reported() -> None:
    def stream(target: str, rate: int, ttfb: float) -> dict[str, object]:
        return {"target": target, "kind": "stream", "tool": "k6", "target_rate": rate, "ttfb_p50_ms": ttfb}

    rows = [stream("direct", 100, 0.2), stream("direct", 500, 0.15),
            stream("gateway-master", 100, 1.5), stream("gateway-master", 500, 0.95)]
    lines = report.targets({"rows": rows})
    judged = next(line for line in lines if "gateway-master: streaming TTFT overhead p50 <= 1 ms at 500/s" in line)
    assert "| 0.800 |" in judged and judged.endswith("| pass |")
    reported = next(line for line in lines if "gateway-master: streaming TTFT overhead p50 at 100/s" in line)
    assert "| 1.300 |" in reported and reported.endswith("| - |")

    rows[3] = stream("gateway-master", 500, 1.25)
    judged = next(line for line in report.targets({"rows": rows}) if "at 500/s" in line and "TTFT" in line)
    assert judged.endswith("| **FAIL** |")


def test_a_quick_run_still_streams_at_both_rates() -> None:
    plan = plan_for(parse_args(["--quick"]))
    assert plan.stream_rates == [100, 500]


def test_messages_rows_are_compared_with_chat_at_the_same_rate() -> None:
    def row(target: str, kind: str, cpu: float) -> dict[str, object]:
        return {"target": target, "kind": kind, "tool": "k6", "target_rate": 500, "achieved_rate": 500.0,
                "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0, "cpu_ms_per_call": {"gateway": cpu}}

    rows = [row("gateway-master", "chat", 0.6), row("gateway-master", "messages", 0.75),
            row("gateway-key", "chat", 0.6), row("gateway-key", "messages", 0.95)]
    assert report.messages_table(rows)[2] == "| gateway-master | k6 | 500/s fixed | 500 | 1.00 / 3.00 | 0 | 0.750 | 0.600 | 1.25x |"
    assert report.messages_checks(rows) == [
        ("gateway-master: /v1/messages CPU per call <= 1.5x chat's at 500/s", "1.25x", True),
        ("gateway-key: /v1/messages CPU per call <= 1.5x chat's at 500/s", "1.58x", False)]
    assert plan_for(parse_args(["--quick"])).messages_rates == [500]


def test_search_rows_are_compared_with_chat_at_the_same_rate() -> None:
    def row(target: str, kind: str, cpu: float) -> dict[str, object]:
        return {"target": target, "kind": kind, "tool": "k6", "target_rate": 500, "achieved_rate": 500.0,
                "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0, "cpu_ms_per_call": {"gateway": cpu}}

    rows = [row("gateway-master", "chat", 0.6), row("gateway-master", "search", 0.66), row("gateway-key", "chat", 0.6)]
    assert report.search_table(rows)[0].endswith("| search / chat |")
    assert report.search_table(rows)[2] == "| gateway-master | k6 | 500/s fixed | 500 | 1.00 / 3.00 | 0 | 0.660 | 0.600 | 1.10x |"
    assert report.search_checks(rows) == [
        ("gateway-master: /v1/search CPU per call <= 1.5x chat's at 500/s", "1.10x", True),
        ("gateway-key: /v1/search CPU per call <= 1.5x chat's at 500/s", "not measured", None)]
    assert plan_for(parse_args(["--quick"])).search_rates == [500]


async def test_the_mock_answers_search_in_perplexity_shape() -> None:
    data = await exchange(post(b'{"query":"q"}', "/search"))
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert [r["url"] for r in json.loads(body)["results"]][:2] == ["https://bench.example/0", "https://bench.example/1"]


@pytest.mark.parametrize("path, field", [("/v1/completions", "choices"), ("/v1/moderations", "results"),
                                         ("/v2/rerank", "results")])
async def test_the_mock_answers_completions_moderations_and_rerank(path: str, field: str) -> None:
    data = await exchange(post(b'{"model":"m"}', path))
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and json.loads(body)[field]


def test_every_other_phase_has_its_row_beside_chat() -> None:
    from bench.run import OTHER_PHASES

    assert [kind for kind, _, _ in OTHER_PHASES] == [kind for kind, _ in report.OTHER_KINDS]
    assert plan_for(parse_args(["--quick"])).other_rates == [500]
