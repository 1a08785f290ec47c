"""`python -m bench.journal_memory [N]`: the RSS of holding N spend records as a journal or buffer holds them.

Spend records (orjson's `dumps`) held until the flusher stores them are what the spend journal and the embedded
buffer keep: N at 2,000 calls/s over a 10 s flush period is 20,000. Each run measures a fresh process's RSS growth
for the records as orjson returns them and as `jsonutil.kept` copies them, beside the bytes they hold.
"""
from __future__ import annotations

import subprocess
import sys

HOLD = """
import sys
from collections import deque
from apps.core import jsonutil
def rss() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6
count, compact = int(sys.argv[1]), sys.argv[2] == "kept"
event = {"request_id": "", "attempt": 1, "key_id": "k" * 36, "team_id": "t" * 36, "user_id": "u" * 36,
         "model": "gpt-4o-mini", "deployment_id": 3, "provider": "openai", "call_type": "chat", "prompt_tokens": 12,
         "completion_tokens": 5, "cost_nanos": 123456, "status": "success", "start_time": 1.0, "end_time": 2.0,
         "tags": ["a", "b"], "end_user": "", "error": "", "metadata": "x" * 300}
before, held = rss(), deque()
for position in range(count):
    event["request_id"] = f"req-{position:032d}"
    record = jsonutil.dumps(event)
    held.append((position, jsonutil.kept(record) if compact else record))
print(sum(len(record) for _, record in held) / 1e6, rss() - before)
"""


def measure(count: int, how: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", HOLD, str(count), how], capture_output=True, text=True, check=True)
    held, grown = out.stdout.split()
    return float(held), float(grown)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    print(f"| {count:,} records held | bytes held MB | RSS growth MB |\n| --- | ---: | ---: |")
    for how in ("as dumps returns them", "kept"):
        held, grown = measure(count, "kept" if how == "kept" else "raw")
        print(f"| {how} | {held:.1f} | {grown:.1f} |")


if __name__ == "__main__":
    main()
