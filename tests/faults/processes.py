"""Processes the fault tests start and kill: a redis-server of their own (never the shared one), Celery workers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.conftest import ROOT, database_url, free_port, stop_process_group

class OwnRedis:
    """`redis-server` on a port found free (never the shared 6379; CI runs two suites side by side, so no fixed
    port) in a temp dir, without persistence: killed, it comes back empty on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--dir", str(self.workdir), "--save", "", "--appendonly", "no"],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except redis.ConnectionError:
                assert self.process.poll() is None and time.monotonic() < deadline, (self.workdir / "redis.log").read_text()
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: whatever it held is gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None


class CeleryWorker:
    """A real Celery worker (with beat: the spend flush every half second) in its own process group."""

    def __init__(self, workdir: Path, *, redis_url: str, name: str, extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url,
               "TOLLGATE_SPEND_FLUSH_EVERY": "0.5", **(extra_env or {})}
        self.log_path = workdir / f"celery-{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "gatewaysite", "worker", "-B",
                                         "--pool=solo", "-n", f"{name}@%h", "-s", str(workdir / f"beat-{name}"),
                                         "--loglevel=INFO"], cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, process_group=0)

    def kill(self) -> None:
        """SIGKILL to the worker and everything it started (beat), at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log.close()
        stop_process_group(self.process.pid, grace=5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        stop_process_group(self.process.pid, grace=5)
