"""The realtime phase: k6's `k6/ws` holding `sessions` WebSocket sessions on `/v1/realtime`, each streaming
`responses` responses one after another (`response.create`, then the mock's audio deltas up to `response.done`).

A row's `requests` are the responses completed (so CPU per call is CPU per response, one admission and one
settlement each), `frames` every frame relayed either way, and its latencies those of the audio frames: the time
from the mock's send stamp (`bench.mock_realtime`) to k6's receipt. k6's clock counts whole milliseconds
(`Date.now()`; its JavaScript has no finer timer), so each reading takes the middle of its millisecond: the
percentiles are good to half a millisecond, and the gateway's added latency is its row minus the direct one.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.loadgen import LoadResult, children_cpu, metric, tool_path
from bench.mock_realtime import DELTA_HEAD, STAMP_DIGITS

K6_REALTIME_SCRIPT = """
import ws from 'k6/ws';
import { Counter, Trend } from 'k6/metrics';
const latency = new Trend('realtime_frame_latency', true);
const received = new Counter('realtime_frames_received');
const sent = new Counter('realtime_frames_sent');
const responses = new Counter('realtime_responses');
const failed = new Counter('realtime_failed_sessions');
const RESPONSES = parseInt(__ENV.RESPONSES);
const STAMP = __ENV.STAMP;
const DIGITS = parseInt(__ENV.DIGITS);
export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(95)', 'p(99)'],
  scenarios: { sessions: {
    executor: 'per-vu-iterations', vus: parseInt(__ENV.SESSIONS), iterations: 1, maxDuration: __ENV.MAX_DURATION,
  } },
};
const params = { headers: JSON.parse(__ENV.HEADERS) };
const CREATE = JSON.stringify({ type: 'response.create', response: { modalities: ['audio', 'text'] } });
export default function () {
  let done = 0;
  const answer = ws.connect(__ENV.URL, params, function (socket) {
    const ask = function () { socket.send(CREATE); sent.add(1); };
    socket.on('message', function (data) {
      const now = Date.now();
      received.add(1);
      if (data.startsWith(STAMP)) {
        latency.add(now + 0.5 - parseInt(data.substr(STAMP.length, DIGITS)) / 1000);
      } else if (data.indexOf('"type":"session.created"') >= 0) {
        ask();
      } else if (data.indexOf('"type":"response.done"') >= 0) {
        done += 1;
        responses.add(1);
        if (done < RESPONSES) { ask(); } else { socket.close(1000); }
      } else if (data.indexOf('"type":"error"') >= 0) {
        socket.close(1000);
      }
    });
    socket.setTimeout(function () { socket.close(1000); }, parseInt(__ENV.SESSION_TIMEOUT_MS));
  });
  if (!answer || answer.status !== 101 || done < RESPONSES) { failed.add(1); }
}
export function handleSummary(data) { return { [__ENV.SUMMARY_FILE]: JSON.stringify(data) }; }
"""


def realtime_url(base_url: str, model: str) -> str:
    """`ws://host:port/v1/realtime?model=...` from an `http://host:port` base."""
    return base_url.replace("http://", "ws://", 1).rstrip("/") + f"/v1/realtime?model={model}"


def parse_k6_realtime(summary: dict[str, Any], *, sessions: int, loadgen_cpu_s: float = 0.0) -> LoadResult:
    """The LoadResult of a realtime run from k6's handleSummary JSON: responses as requests, frame latencies."""
    responses = int(metric(summary, "realtime_responses", "count"))
    duration_ms = float((summary.get("state") or {}).get("testRunDurationMs", 0.0))
    frames = int(metric(summary, "realtime_frames_received", "count") + metric(summary, "realtime_frames_sent",
                                                                               "count"))
    return LoadResult(
        tool="k6", mode="ws-sessions", target_rate=None, duration_s=round(duration_ms / 1000, 3),
        requests=responses, errors=int(metric(summary, "realtime_failed_sessions", "count")),
        achieved_rate=round(1000 * responses / duration_ms, 1) if duration_ms else 0.0,
        p50_ms=round(metric(summary, "realtime_frame_latency", "p(50)"), 3),
        p95_ms=round(metric(summary, "realtime_frame_latency", "p(95)"), 3),
        p99_ms=round(metric(summary, "realtime_frame_latency", "p(99)"), 3),
        max_ms=round(metric(summary, "realtime_frame_latency", "max"), 3),
        connections=sessions, frames=frames, loadgen_cpu_s=round(loadgen_cpu_s, 3))


def run_k6_realtime(*, url: str, headers: dict[str, str], sessions: int, responses: int,
                    timeout: float = 120.0) -> LoadResult:
    """`sessions` sessions at once, each streaming `responses` responses in turn; a session not done in `timeout`
    seconds is closed and counted as an error."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "realtime.js").write_text(K6_REALTIME_SCRIPT)
        summary_file = work / "summary.json"
        env = {**os.environ, "URL": url, "HEADERS": json.dumps(headers), "SESSIONS": str(sessions),
               "RESPONSES": str(responses), "STAMP": DELTA_HEAD.decode(), "DIGITS": str(STAMP_DIGITS),
               "SESSION_TIMEOUT_MS": str(int(timeout * 1000)), "MAX_DURATION": f"{int(timeout) + 10}s",
               "SUMMARY_FILE": str(summary_file), "K6_NO_USAGE_REPORT": "true"}
        before = children_cpu()
        done = subprocess.run([tool_path("k6") or "k6", "run", "--quiet", "--no-usage-report", "--no-color",
                               "--no-thresholds", str(work / "realtime.js")], env=env, capture_output=True,
                              text=True, timeout=timeout + 120, check=False)
        if not summary_file.exists():
            raise RuntimeError(f"k6 failed ({done.returncode}): {done.stderr[-2000:]}")
        return parse_k6_realtime(json.loads(summary_file.read_text()), sessions=sessions,
                                 loadgen_cpu_s=children_cpu() - before)
