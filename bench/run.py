"""`python -m bench.run`: measure the mock upstream, direct calls and calls through the gateway.

Every row names the compiled generator that produced it (wrk or k6); nothing here sends load from Python.
Results go to bench/results/<date>.{json,md}; with --profile, py-spy profiles to bench/profiles/.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench import calibrate, loadgen, procstat, profile, report
from bench.gateway import (
    BENCH_AGENT,
    MASTER_KEY,
    MODEL,
    REALTIME_MODEL,
    RERANK_MODEL,
    SEARCH_TOOL,
    Gateway,
    generate_key,
    register_agent,
    key_spend,
    spend_backlog,
    spend_rows,
    wait_until_stored,
)
from bench.loadgen import LoadResult
from bench.media import media_runs
from bench.mock_realtime import MODEL as UPSTREAM_REALTIME_MODEL
from bench.realtime import realtime_url, run_k6_realtime

HERE = Path(__file__).resolve().parent
CHAT_BODY = json.dumps({"model": MODEL, "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Say hello to the benchmark in one short sentence."}]}).encode()
BACKLOG_WAIT = 90.0  # seconds a phase's spend events may take to be stored before the next phase starts
STREAM_BODY = json.dumps({**json.loads(CHAT_BODY), "stream": True,
                          "stream_options": {"include_usage": True}}).encode()
# The same conversation as CHAT_BODY on Anthropic's /v1/messages (translated to chat for the OpenAI-compatible mock).
MESSAGES_BODY = json.dumps({"model": MODEL, "max_tokens": 256, "system": "You are a helpful assistant.", "messages": [
    {"role": "user", "content": "Say hello to the benchmark in one short sentence."}]}).encode()
# The same conversation on OpenAI's /v1/responses (passed through to the mock's /v1/responses, and stored).
RESPONSES_BODY = json.dumps({"model": MODEL, "max_output_tokens": 256, "instructions": "You are a helpful assistant.",
                             "input": "Say hello to the benchmark in one short sentence."}).encode()

# A LiteLLM Search API call to the bench's Perplexity-shaped search tool (the mock answers 5 results).
SEARCH_BODY = json.dumps({"query": "benchmark search", "max_results": 5}).encode()
# Legacy text completions, moderations and rerank: one row each beside chat at the same rate.
OTHER_PHASES: tuple[tuple[str, str, bytes], ...] = (
    ("completions", "/v1/completions", json.dumps(
        {"model": MODEL, "prompt": "Say hello to the benchmark in one short sentence.", "max_tokens": 256}).encode()),
    ("moderations", "/v1/moderations", json.dumps(
        {"model": MODEL, "input": "Say hello to the benchmark in one short sentence."}).encode()),
    ("rerank", "/v1/rerank", json.dumps({"model": RERANK_MODEL, "query": "benchmark", "top_n": 2,
                                         "documents": ["a canned document", "the benchmark document"]}).encode()),
)

# One A2A 1.0 JSON-RPC turn of the hosted bench agent (a task stored, run, answered): the same prompt as CHAT_BODY.
A2A_BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
    "messageId": "bench", "role": "ROLE_USER",
    "parts": [{"text": "Say hello to the benchmark in one short sentence."}]}}}).encode()


@dataclass
class Upstream:
    """The mock upstream in its own process."""

    process: subprocess.Popen[str]
    port: int

    @classmethod
    def start(cls) -> Upstream:
        process = subprocess.Popen([sys.executable, "-m", "bench.mock_upstream", "--port", "0"], cwd=HERE.parent,
                                   stdout=subprocess.PIPE, text=True)
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("READY "):
            raise RuntimeError(f"mock upstream did not start: {line!r}")
        return cls(process, int(line.split()[1]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    @property
    def realtime_url(self) -> str:
        return realtime_url(f"http://127.0.0.1:{self.port}", UPSTREAM_REALTIME_MODEL)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class Plan:
    duration: float
    rates: list[int]
    stream_rates: list[int]
    messages_rates: list[int]
    search_rates: list[int]
    responses_rates: list[int]
    a2a_rates: list[int]
    media_rates: list[int]
    other_rates: list[int]
    realtime_sessions: int
    realtime_responses: int
    connections: int
    soak_calls: int
    profile: bool
    overload_duration: float
    overload_connections: int
    overload_in_flight: int
    only: tuple[str, ...] = ()  # the row kinds to run (--only); empty: every phase


@dataclass
class Bench:
    plan: Plan
    upstream: Upstream
    gateway: Gateway | None = None
    rows: list[dict[str, object]] = field(default_factory=list)
    ok_calls: dict[str, int] = field(default_factory=dict)
    gateway_calls: int = 0
    agent: bool = False  # the hosted bench agent is registered: the A2A rows run
    rss_trace: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def headers(self, key: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def wants(self, kind: str) -> bool:
        """Whether this run measures rows of `kind` (`--only` names some; warm-ups always run)."""
        return not self.plan.only or kind in self.plan.only or kind == "warm-up"

    def measured(self, *, target: str, kind: str, run: Callable[[], LoadResult], count: bool = True) -> dict[str, object]:
        """Run one load and meter every process around it: CPU per group, RSS peaks, the RSS trace. A kind the
        run leaves out (`--only`) is not run: an empty row, not kept."""
        if not self.wants(kind):
            return {}
        gw_pids = self.gateway.pids() if self.gateway else []
        groups = self.process_groups()
        before = {name: procstat.group_cpu(members()) for name, members in groups.items()}
        with procstat.RssSampler(gw_pids) as sampler:
            result = run()
        gateway_used = procstat.group_cpu(groups["gateway"]()) - before["gateway"]
        if self.gateway is not None:
            # The phase's spend events are stored before the next phase starts: a saturating phase leaves
            # Celery 100,000+ rows, and storing them while the next phase runs slowed that phase. The Celery,
            # Redis and PostgreSQL CPU of storing them is this phase's.
            gateway = self.gateway
            wait_until_stored(lambda: spend_backlog(gateway), timeout=BACKLOG_WAIT)
        used = {name: gateway_used if name == "gateway" else procstat.group_cpu(members()) - before[name]
                for name, members in groups.items()}
        cpu = {name: times.total for name, times in used.items()}
        cpu["gateway_kernel"] = used["gateway"].system
        calls = max(result.requests, 1)
        row: dict[str, object] = {"target": target, "kind": kind, **result.as_dict(),
                                  "cpu_ms_per_call": {k: round(1000 * v / calls, 3) for k, v in cpu.items()},
                                  "rss_peak_kib": {self.role(p): kib for p, kib in sampler.peak.items()}}
        if count and target != "direct":
            self.gateway_calls += result.requests
            self.ok_calls[target] = self.ok_calls.get(target, 0) + result.ok
            self.rss_trace.append({"after_calls": self.gateway_calls, "phase": f"{target} {kind} {result.mode}",
                                   "rss_kib": self.rss_now()})
        print(report.row_line(row), flush=True)
        self.rows.append(row)
        return row

    def process_groups(self) -> dict[str, Callable[[], list[int]]]:
        """The metered groups, each as a function listing its members at the time: backends and workers come and
        go during a load, so a group is listed again after it (procstat.group_cpu keeps the CPU of those gone)."""
        gateway, mock = self.gateway, self.upstream.process.pid
        return {"gateway": gateway.pids if gateway else list, "celery": gateway.celery_pids if gateway else list,
                "redis": partial(procstat.pids_named, "redis-server"),
                "postgres": partial(procstat.pids_named, "postgres"), "mock": lambda: [mock]}

    def role(self, pid: int) -> str:
        if self.gateway is None:
            return str(pid)
        workers = self.gateway.worker_pids()
        if pid in workers:
            return f"worker-{workers.index(pid) + 1}"
        if self.gateway.serve and pid == self.gateway.serve.pid:
            return "supervisor"
        return "resource-tracker" if "resource_tracker" in procstat.cmdline(pid) else f"pid-{pid}"

    def rss_now(self) -> dict[str, int]:
        return {self.role(p): procstat.rss_kib(p) for p in (self.gateway.pids() if self.gateway else [])}

    def suite(self, *, target: str, url: str, key: str | None) -> None:
        """Closed-loop maximum, fixed chat rates and fixed stream rates for one target."""
        plan, headers = self.plan, self.headers(key)
        self.measured(target=target, kind="chat", run=lambda: loadgen.run_wrk(
            url=url, body=CHAT_BODY, headers=headers, duration=plan.duration, connections=plan.connections))
        for rate in plan.rates:
            self.measured(target=target, kind="chat", run=partial(
                loadgen.run_k6, url=url, body=CHAT_BODY, headers=headers, rate=rate, duration=plan.duration))
        for rate in plan.stream_rates:
            self.measured(target=target, kind="stream", run=partial(
                loadgen.run_k6, url=url, body=STREAM_BODY, headers=headers, rate=rate, duration=plan.duration))
        self.realtime(target=target, url=self.upstream.realtime_url if target == "direct" else realtime_url(
            url.removesuffix("/v1/chat/completions"), REALTIME_MODEL), key=key)
        if target == "direct":
            return  # /v1/messages and /v1/search are the gateway's
        messages_url = url.replace("/v1/chat/completions", "/v1/messages")
        for rate in plan.messages_rates:
            self.measured(target=target, kind="messages", run=partial(
                loadgen.run_k6, url=messages_url, body=MESSAGES_BODY, headers=headers, rate=rate,
                duration=plan.duration))
        search_url = url.replace("/v1/chat/completions", f"/v1/search/{SEARCH_TOOL}")
        for rate in plan.search_rates:
            self.measured(target=target, kind="search", run=partial(
                loadgen.run_k6, url=search_url, body=SEARCH_BODY, headers=headers, rate=rate,
                duration=plan.duration))
        responses_url = url.replace("/v1/chat/completions", "/v1/responses")
        for rate in plan.responses_rates:
            self.measured(target=target, kind="responses", run=partial(
                loadgen.run_k6, url=responses_url, body=RESPONSES_BODY, headers=headers, rate=rate,
                duration=plan.duration))
        for kind, path, body in OTHER_PHASES:
            for rate in plan.other_rates:
                self.measured(target=target, kind=kind, run=partial(
                    loadgen.run_k6, url=url.replace("/v1/chat/completions", path), body=body, headers=headers,
                    rate=rate, duration=plan.duration))
        base_url = url.removesuffix("/v1/chat/completions")
        for kind, run in media_runs(base_url=base_url, headers=headers, rates=plan.media_rates,
                                    duration=plan.duration):
            self.measured(target=target, kind=kind, run=run)
        if not self.agent:
            return
        a2a_url = url.replace("/v1/chat/completions", f"/a2a/{BENCH_AGENT}")
        for rate in plan.a2a_rates:
            self.measured(target=target, kind="a2a", run=partial(
                loadgen.run_k6, url=a2a_url, body=A2A_BODY, headers={**headers, "A2A-Version": "1.0"}, rate=rate,
                duration=plan.duration))

    def realtime(self, *, target: str, url: str, key: str | None) -> None:
        """N realtime sessions at once, each streaming M responses (bench.realtime); CPU per response and per
        1,000 relayed frames are in the report."""
        plan = self.plan
        headers = {**self.headers(key or "sk-mock-upstream"), "OpenAI-Beta": "realtime=v1"}
        self.measured(target=target, kind="realtime", run=partial(
            run_k6_realtime, url=url, headers=headers, sessions=plan.realtime_sessions,
            responses=plan.realtime_responses))

    def warm_up(self, *, target: str, url: str, key: str | None) -> None:
        for body in (CHAT_BODY, STREAM_BODY):
            self.measured(target=target, kind="warm-up", run=partial(
                loadgen.run_k6, url=url, body=body, headers=self.headers(key), rate=200, duration=2))
        self.rows = [r for r in self.rows if r["kind"] != "warm-up"]


def mock_max(bench: Bench, duration: float) -> dict[str, object]:
    """The mock upstream's own maximum, so nothing below is limited by it."""
    out: dict[str, object] = {}
    for kind, body in (("chat", CHAT_BODY), ("stream", STREAM_BODY)):
        row = bench.measured(target="mock-max", kind=kind, count=False, run=partial(
            loadgen.run_wrk, url=bench.upstream.url, body=body, headers=bench.headers(None),
            duration=min(duration, 5), connections=64))
        out[kind] = row
    bench.rows = [r for r in bench.rows if r["target"] != "mock-max"]
    return out


def profile_under_load(bench: Bench, *, target: str, key: str | None, rate: int, seconds: float) -> dict[str, object]:
    """py-spy raw + flamegraph of every serve process while k6 holds `rate` calls/s."""
    assert bench.gateway is not None and bench.gateway.serve is not None
    url = f"{bench.gateway.url}/v1/chat/completions"
    out_dir = HERE / "profiles"
    out_dir.mkdir(exist_ok=True)
    name = f"{target}-chat-{rate}rps"
    results: dict[str, object] = {"rate": rate}
    for fmt, suffix, gil in (("raw", "txt", False), ("raw", "gil.txt", True), ("flamegraph", "svg", False)):
        path = out_dir / f"{name}.{suffix}"
        spy = profile.record(pid=bench.gateway.serve.pid, seconds=seconds, output=path, fmt=fmt, gil_only=gil)
        time.sleep(2)  # let py-spy attach (it briefly stalls the processes) before the load starts
        row = bench.measured(target=target, kind=f"profiled-{fmt}", run=partial(
            loadgen.run_k6, url=url, body=CHAT_BODY, headers=bench.headers(key), rate=rate, duration=seconds - 1))
        _, err = spy.communicate(timeout=seconds + 60)
        if spy.returncode != 0 or not path.exists():
            bench.notes.append(f"py-spy {fmt} failed: {err.decode(errors='replace')[-500:]}")
            continue
        results[suffix] = str(path.relative_to(HERE.parent))
        if fmt == "raw":
            cpu = row["cpu_ms_per_call"]["gateway"]  # type: ignore[index]
            summary = profile.summarise(path.read_text())
            md = out_dir / f"{name}.{suffix.replace('txt', 'md')}"
            which = "samples holding the GIL only" if gil else "all non-idle threads"
            md.write_text(profile.to_markdown(summary, title=f"Profile: {target}, k6 {rate} calls/s, {which}",
                                              calls=int(row["requests"]),  # type: ignore[call-overload]
                                              cpu_ms_per_call=float(cpu)))
            results[f"summary-{suffix}"] = str(md.relative_to(HERE.parent))
            results[f"calls-{suffix}"] = row["requests"]
            results[f"cpu_ms_per_call-{suffix}"] = float(cpu)
    bench.rows = [r for r in bench.rows if not str(r["kind"]).startswith("profiled-")]
    return results


def profile_rate(rows: list[dict[str, object]]) -> int:
    """60% of the master key's closed-loop maximum (50..500/s): a load the gateway sustains without queueing."""
    peak = next((float(r["achieved_rate"]) for r in rows  # type: ignore[arg-type]
                 if r["target"] == "gateway-master" and r["kind"] == "chat" and r["tool"] == "wrk"), 500.0)
    return int(max(50, min(500, peak * 0.6 // 50 * 50)))


def soak(bench: Bench, *, url: str, key: str | None, target: str) -> None:
    """Closed-loop load until the soak itself has served `soak_calls`, recording RSS as it goes.

    The soak's own count: the measured phases before it may already pass 100,000 calls, and RSS
    flatness is judged from the soak's first reading to its last.
    """
    deadline = time.monotonic() + 900
    stop_at = bench.gateway_calls + bench.plan.soak_calls
    while bench.gateway_calls < stop_at and time.monotonic() < deadline:
        bench.measured(target=target, kind="soak", run=lambda: loadgen.run_wrk(
            url=url, body=CHAT_BODY, headers=bench.headers(key), duration=20, connections=bench.plan.connections))
    bench.rows = [r for r in bench.rows if r["kind"] != "soak"]


def wait_for_spend(bench: Bench, key: str, expected: int, timeout: float = 120.0) -> dict[str, object]:
    """Poll the spend log until it holds `expected` rows for the key, or the deadline passes."""
    assert bench.gateway is not None
    deadline = time.monotonic() + timeout
    rows = spend_rows(bench.gateway, key)
    while rows is not None and rows["rows"] < expected and time.monotonic() < deadline:
        time.sleep(2)
        rows = spend_rows(bench.gateway, key)
    if rows is None:
        return {"available": False, "successful_calls": expected}
    counter = key_spend(bench.gateway.url, key)
    return {"available": True, "successful_calls": expected, **rows, "key_spend_counter": counter,
            "rows_equal_calls": rows["rows"] == expected,
            "counter_equals_logged_cost": None if counter is None else abs(counter - rows["cost"]) < 1e-6}


def spend_audit(bench: Bench, *, url: str) -> dict[str, object]:
    """Exact accounting on a fresh key that only k6 drives, below saturation, waiting for every answer.

    The main key's row count can exceed the calls the generators counted: wrk stops with up to
    `connections` requests in flight and k6 abandons requests still running `gracefulStop` after a
    phase, yet the gateway completes (and logs) them. Here k6 waits for every request it sent, so the
    rows must equal the successful calls exactly, and the budget counter the sum of logged costs.
    """
    assert bench.gateway is not None
    key, _ = generate_key(bench.gateway.url)
    if key is None:
        return {"available": False}
    ok = 0
    for body, rate in ((CHAT_BODY, 300), (STREAM_BODY, 100)):
        result = loadgen.run_k6(url=url, body=body, headers=bench.headers(key), rate=rate,
                                duration=min(bench.plan.duration, 10), graceful_stop=60)
        ok += result.ok
    return wait_for_spend(bench, key, ok)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=float, default=None, help="seconds per load phase (20; 5 with --quick)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gateway worker processes (2; the embedded mode serves from 1)")
    parser.add_argument("--quick", action="store_true", help="short phases, no soak (smoke use)")
    parser.add_argument("--embedded", action="store_true", help="SQLite + in-process state instead of PG + Redis")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default=None,
                        help="ASGI server for `manage.py serve` (default: serve's own, TOLLGATE_SERVER)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections for the closed-loop rows")
    parser.add_argument("--soak-calls", type=int, default=None, help="gateway calls before the last RSS reading")
    parser.add_argument("--overload-connections", type=int, default=512,
                        help="wrk connections for the overload rows (far past what the gateway serves)")
    parser.add_argument("--overload-in-flight", type=int, default=32,
                        help="TOLLGATE_MAX_IN_FLIGHT per worker of the overload row with the limit on")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help="py-spy profiles under load (default: on, off with --quick)")
    parser.add_argument("--only", type=lambda text: tuple(k for k in text.split(",") if k), default=(),
                        help="run only rows of these kinds, comma-separated (chat, stream, realtime, search...); "
                             "no mock maximum, soak, profiles, audit or overload unless named")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    if args.workers is None:
        args.workers = 1 if args.embedded else 2  # in-process state: `serve` runs one worker (settings.WORKERS)
    return args


def preflight(args: argparse.Namespace) -> list[str]:
    problems = loadgen.missing_tools()
    if not args.embedded:
        for name in ("DATABASE_URL", "REDIS_URL"):
            if not os.environ.get(name):
                problems.append(f"{name} is not set: the bench runs the production configuration "
                                "(PostgreSQL + Redis); set both, or pass --embedded")
        if os.environ.get("DATABASE_URL", "").startswith("sqlite"):
            problems.append("DATABASE_URL must be PostgreSQL (or pass --embedded)")
    elif args.workers != 1:
        problems.append("--embedded serves from one worker (its budgets and limits live in that process): "
                        "leave --workers out")
    return problems


def tool_versions() -> dict[str, str]:
    out = {}
    for name, args in (("wrk", ["--version"]), ("k6", ["version"])):
        done = subprocess.run([loadgen.tool_path(name) or name, *args], capture_output=True, text=True, check=False)
        out[name] = (done.stdout or done.stderr).splitlines()[0].strip()
    return out


def plan_for(args: argparse.Namespace) -> Plan:
    """The phases to run: short ones, no soak and no profiles with --quick."""
    duration = args.duration or (5.0 if args.quick else 20.0)
    return Plan(duration=duration, rates=[100, 500, 1000], stream_rates=[100, 500], messages_rates=[500],
                search_rates=[500],
                responses_rates=[500],
                a2a_rates=[100],
                media_rates=[500],
                other_rates=[500],
                realtime_sessions=10 if args.quick else 50, realtime_responses=5 if args.quick else 20,
                connections=args.connections,
                soak_calls=0 if args.only and "soak" not in args.only else (
                    args.soak_calls if args.soak_calls is not None else (0 if args.quick else 100_000)),
                profile=False if args.only else (args.profile if args.profile is not None else not args.quick),
                overload_duration=min(duration, 10.0), overload_connections=args.overload_connections,
                overload_in_flight=args.overload_in_flight, only=args.only)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problems = preflight(args)
    if problems:
        print("bench cannot run:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    plan = plan_for(args)
    started = dt.datetime.now(dt.timezone.utc)
    machine = calibrate.measure()  # before anything else runs, so the machine is quiet
    print(calibrate.describe(machine), flush=True)
    upstream = Upstream.start()
    bench = Bench(plan=plan, upstream=upstream)
    results: dict[str, object] = {"started": started.isoformat(timespec="seconds"), "plan": vars(plan),
                                  "mode": "embedded" if args.embedded else "postgres+redis", "workers": args.workers,
                                  "host": {"cores": os.cpu_count(), "python": platform.python_version(),
                                           "kernel": platform.release()}, "machine": machine,
                                  "tools": tool_versions()}
    try:
        print(f"mock upstream on :{upstream.port}; measuring its maximum", flush=True)
        results["mock_max"] = mock_max(bench, plan.duration) if not plan.only else {}
        bench.suite(target="direct", url=upstream.url, key=None)
        with tempfile.TemporaryDirectory(prefix="tollgate-bench-") as workdir:
            run_gateway(bench, results, Path(workdir), args)
            if bench.wants("overload"):
                overload(bench, workdir=Path(workdir), args=args)
    finally:
        upstream.stop()
    results.update(rows=bench.rows, rss_trace=bench.rss_trace, notes=bench.notes,
                   finished=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    stamp = (started.strftime("%Y-%m-%d-%H%M") + ("-quick" if args.quick else "") + (f"-{args.server}" if args.server else "")
             + (f"-only-{'-'.join(args.only)}" if args.only else ""))
    paths = report.write(results, out_dir=args.out, stamp=stamp)
    print("\n" + report.markdown(results))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def new_gateway(bench: Bench, workdir: Path, args: argparse.Namespace, **env: str) -> Gateway:
    """The gateway the bench meters from now on, with `env` over the bench's environment."""
    bench.gateway = Gateway(workdir=workdir, upstream_port=bench.upstream.port, workers=args.workers,
                            embedded=args.embedded, server=args.server, extra_env=env)
    return bench.gateway


def overload(bench: Bench, *, workdir: Path, args: argparse.Namespace) -> None:
    """Past saturation (issue #7): one wrk load far past what the gateway serves, against a gateway with a small
    in-flight limit and then one without, each started for this phase only (the phases before it keep the
    default limit) on the database the main gateway set up."""
    plan, headers = bench.plan, bench.headers(MASTER_KEY)
    for limit in (plan.overload_in_flight, 0):
        gateway = new_gateway(bench, workdir, args, TOLLGATE_MAX_IN_FLIGHT=str(limit))
        url = f"{gateway.url}/v1/chat/completions"
        try:
            gateway.start()
            # Not measured: a fresh worker's first second at this many connections (snapshots, pools, accepting them
            # all) is a transient: with a 64-connection warm-up, the limited gateway's p99 was 130-350 ms, not 60.
            loadgen.run_wrk(url=url, body=CHAT_BODY, headers=headers, duration=1, connections=plan.overload_connections)
            row = bench.measured(target="gateway-master", kind="overload", count=False, run=partial(
                loadgen.run_wrk, url=url, body=CHAT_BODY, headers=headers, duration=plan.overload_duration,
                connections=plan.overload_connections, count_refusals=True))
            row["in_flight_limit"] = limit
        finally:
            gateway.stop()


def run_gateway(bench: Bench, results: dict[str, object], workdir: Path, args: argparse.Namespace) -> None:
    """Set up and start the gateway, then run every gateway phase."""
    gateway = new_gateway(bench, workdir, args)
    results["load_config"] = gateway.prepare()
    gateway.start()
    results["server"] = gateway.server_seen
    try:
        time.sleep(2)  # let start-up settle before reading idle RSS
        results["rss_idle_kib"] = bench.rss_now()
        url = f"{gateway.url}/v1/chat/completions"
        key, how = generate_key(gateway.url)
        results["virtual_key"] = how
        print(how, flush=True)
        bench.agent, agent_how = register_agent(gateway.url)
        results["a2a_agent"] = agent_how
        print(agent_how, flush=True)
        bench.warm_up(target="gateway-master", url=url, key=MASTER_KEY)
        if key:
            bench.warm_up(target="gateway-key", url=url, key=key)
        results["rss_after_warmup_kib"] = bench.rss_now()
        bench.suite(target="gateway-master", url=url, key=MASTER_KEY)
        if key:
            bench.suite(target="gateway-key", url=url, key=key)
        else:
            bench.notes.append(how)
        soak_target = "gateway-key" if key else "gateway-master"
        if bench.plan.soak_calls:
            soak(bench, url=url, key=key or MASTER_KEY, target=soak_target)
        results["rss_final_kib"] = bench.rss_now()
        if bench.plan.profile:
            rate = profile_rate(bench.rows)
            results["profiles"] = {t: profile_under_load(bench, target=t, key=k, rate=rate, seconds=15)
                                   for t, k in (("gateway-master", MASTER_KEY), ("gateway-key", key)) if k}
        results["spend"] = (wait_for_spend(bench, key, bench.ok_calls.get("gateway-key", 0)) if key
                            else {"available": False, "reason": how})
        if key and not bench.plan.only:
            results["spend_audit"] = spend_audit(bench, url=url)
    finally:
        gateway.stop()


if __name__ == "__main__":
    sys.exit(main())
