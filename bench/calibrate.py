"""How fast this machine is, so bench runs on different machines can be compared.

Sessions run on machines whose speed differs (the mock upstream's own maximum has ranged from 43,000 to
120,000 calls/s on "the same" 2-core machine), and every target is in absolute milliseconds. Two fixed
measurements go with each run:

- `python_ms`: one fixed pure-Python workload (JSON, dicts, strings, the shapes a gateway call handles),
  best of several runs: how fast the interpreter runs here. Lower is faster.
- `loopback_rtt_us`: the median round trip of one small message between two processes over TCP loopback,
  as a call makes between client, gateway and upstream: what wake-ups and the network stack cost here.

Run alone: `python -m bench.calibrate`.
"""
from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time

PAYLOAD = {"model": "bench-gpt", "stream": False, "temperature": 0.2,
           "messages": [{"role": "system", "content": "You are a helpful assistant."},
                        {"role": "user", "content": "Say hello to the benchmark in one short sentence." * 3}]}
ECHO_SERVER = """
import socket, sys
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while data := conn.recv(64):
    conn.sendall(data)
"""


def workload() -> int:
    """The fixed workload: what it computes is returned so nothing can be optimised away."""
    total = 0
    for index in range(3000):
        body = json.dumps({**PAYLOAD, "user": f"user-{index}"})
        data = json.loads(body)
        headers = {name.lower(): value for name, value in (("Content-Type", "application/json"),
                                                           ("Authorization", f"Bearer sk-{index}"))}
        words = " ".join(message["content"] for message in data["messages"]).split()
        total += len(body) + len(headers["authorization"]) + sum(len(word) for word in words)
    return total


def python_ms(repeats: int = 5) -> float:
    """The workload's best wall time over `repeats` runs, in milliseconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        workload()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def loopback_rtt_us(round_trips: int = 2000) -> float:
    """Median microseconds for a 16-byte message to reach another process over TCP loopback and come back."""
    server = subprocess.Popen([sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            samples = []
            for _ in range(round_trips):
                started = time.perf_counter()
                conn.sendall(b"x" * 16)
                received = 0
                while received < 16:
                    received += len(conn.recv(64))
                samples.append(time.perf_counter() - started)
        return round(statistics.median(samples) * 1e6, 1)
    finally:
        server.terminate()
        server.wait(timeout=10)


def measure() -> dict[str, float]:
    return {"python_ms": python_ms(), "loopback_rtt_us": loopback_rtt_us()}


def describe(machine: dict[str, float]) -> str:
    """One sentence for the report."""
    return (f"Machine speed: fixed Python workload {machine['python_ms']:.0f} ms (lower is faster), "
            f"TCP loopback round trip between two processes {machine['loopback_rtt_us']:.0f} µs (median).")


if __name__ == "__main__":
    print(describe(measure()))
