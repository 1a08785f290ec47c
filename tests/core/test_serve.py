"""`manage.py serve` runs the chosen ASGI server; with Redis also a Celery worker with beat, stopped with it."""
from __future__ import annotations

import importlib.util
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from gatewaysite.celery import SHUTDOWN_GRACE_SECONDS
from tests.conftest import GatewayProcess


def children(pid: int) -> dict[int, str]:
    """The process's children by pid, with their command lines (one that exits while being read is left out)."""
    found: dict[int, str] = {}
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return found  # the process itself is gone
    for child in listed:
        try:
            found[int(child)] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not settings.REDIS_URL, reason="Celery runs eagerly without Redis")
def test_serve_starts_and_stops_a_celery_worker(gateway: GatewayProcess, tmp_path: Path) -> None:
    server = GatewayProcess(extra_env={"TOLLGATE_RUN_CELERY": "1"}, log_dir=tmp_path)
    try:
        workers = {pid: cmd for pid, cmd in children(server.process.pid).items() if "celery" in cmd}
        assert len(workers) == 1 and "worker --beat" in next(iter(workers.values()))
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert not any(alive(pid) for pid in workers), "the Celery worker outlived the server"


def started_celery_worker(server: GatewayProcess) -> list[int]:
    """The Celery worker serve started, then its pool's process and its beat's, once both are forked."""
    deadline = time.monotonic() + 60
    while True:
        workers = [pid for pid, cmd in children(server.process.pid).items() if "celery" in cmd]
        if len(workers) == 1 and len(descendants(workers[0])) >= 2:  # the pool's and beat's, forked after worker_init
            return [workers[0], *descendants(workers[0])]
        assert time.monotonic() < deadline, "the Celery worker did not start its pool and beat"
        time.sleep(0.1)


def wait_gone(pids: list[int], *, timeout: float) -> list[int]:
    """Wait up to `timeout` seconds for every process of `pids` to exit; return those still alive."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


@pytest.mark.skipif(not settings.REDIS_URL, reason="Celery runs eagerly without Redis")
@pytest.mark.parametrize("killed", [pytest.param("serve", id="serve_killed_case"),
                                    pytest.param("worker", id="worker_killed_case")])
def test_no_celery_process_outlives_a_killed_parent(killed: str, gateway: GatewayProcess, tmp_path: Path) -> None:
    """SIGKILL leaves no clean-up to the killed process: the worker must follow serve, the beat the worker."""
    server = GatewayProcess(extra_env={"TOLLGATE_RUN_CELERY": "1"}, log_dir=tmp_path)
    try:
        celery = started_celery_worker(server)
        os.kill(server.process.pid if killed == "serve" else celery[0], signal.SIGKILL)
        left = wait_gone(celery, timeout=SHUTDOWN_GRACE_SECONDS + 2)
        assert left == [], {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left}
    finally:
        server.stop()


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def nice_values(pid: int) -> set[int]:
    """The nice value of every thread of `pid` (Linux keeps one per thread)."""
    return {os.getpriority(os.PRIO_PROCESS, int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.skipif(not settings.REDIS_URL, reason="Celery runs eagerly without Redis")
@pytest.mark.parametrize(("nice", "expected"), [pytest.param("7", 7, id="lowered_case"),
                                                pytest.param("0", 0, id="unchanged_case")])
def test_the_celery_worker_and_beat_run_at_the_configured_nice_value(gateway: GatewayProcess, tmp_path: Path,
                                                                    nice: str, expected: int) -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    server = GatewayProcess(extra_env={"TOLLGATE_RUN_CELERY": "1", "TOLLGATE_CELERY_NICE": nice}, log_dir=tmp_path)
    try:
        processes = started_celery_worker(server)
        assert [nice_values(pid) for pid in processes] == [{max(base, expected)}] * len(processes)
        assert nice_values(server.process.pid) == {base}  # the server keeps its priority
    finally:
        server.stop()


@pytest.mark.parametrize(("env", "args", "server"), [
    pytest.param({"TOLLGATE_SERVER": "uvicorn"}, (), "uvicorn", id="uvicorn_case"),
    pytest.param({"TOLLGATE_SERVER": "granian"}, (), "granian", id="granian_case"),
    pytest.param({"TOLLGATE_SERVER": "uvicorn"}, ("--server", "granian"), "granian", id="flag_over_env_case"),
])
def test_serve_runs_the_server_chosen(env: dict[str, str], args: tuple[str, ...], server: str,
                                      gateway: GatewayProcess, tmp_path: Path) -> None:
    process = GatewayProcess(extra_env=env, args=args, log_dir=tmp_path)
    try:
        response = httpx.get(f"{process.url}/health/liveliness", timeout=10)
    finally:
        process.stop()
    assert response.json() == {"status": "alive"}
    assert response.headers["server"] == server


def test_serve_names_the_missing_package_when_the_server_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "granian" else find_spec(name))
    with pytest.raises(CommandError) as raised:
        call_command("serve", server="granian")
    assert str(raised.value) == "the granian server is not installed: pip install 'tollgate[granian]'"


@pytest.mark.skipif(not settings.REDIS_URL, reason="without Redis, serve runs one process (state in its memory)")
@pytest.mark.parametrize("server_name", ["uvicorn", "granian"])
def test_server_workers_do_not_outlive_a_killed_serve(server_name: str, gateway: GatewayProcess,
                                                      tmp_path: Path) -> None:
    """A SIGKILLed supervisor cannot stop its workers: they stop themselves rather than keep serving its port."""
    server = GatewayProcess(extra_env={"WORKERS": "2", "TOLLGATE_SERVER": server_name, "TOLLGATE_RUN_CELERY": "0"},
                            log_dir=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while len([cmd for cmd in children(server.process.pid).values() if "resource_tracker" not in cmd]) < 2:
            assert time.monotonic() < deadline, "the server did not start two workers"
            time.sleep(0.1)
        started = descendants(server.process.pid)
        os.kill(server.process.pid, signal.SIGKILL)
        left = wait_gone(started, timeout=15)
        assert left == [], {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left}
    finally:
        server.stop()
