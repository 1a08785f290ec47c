"""A process tied to its parent stops once the parent is gone: at once, late, or even if it ignores SIGTERM."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The tied process: optionally ignores SIGTERM, optionally waits for its parent to die before it ties itself.
TIED = """
import os, signal, sys, time
from apps.core.lifeline import tie_to_parent
parent, ignore_term, tie_late = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1"
if ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print(os.getpid(), flush=True)
while tie_late and os.getppid() == parent:
    time.sleep(0.01)
tie_to_parent(parent, grace=1.0)
print("tied", flush=True)
time.sleep(60)
"""
# The parent: starts the tied process, then sleeps until it is killed.
PARENT = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid()), sys.argv[2], sys.argv[3]])
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def tied_child(*, ignore_term: bool, tie_late: bool) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A parent process and the pid of its tied child (which, unless `tie_late`, is tied already)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, TIED, str(int(ignore_term)), str(int(tie_late))],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        if not tie_late:
            assert parent.stdout.readline() == "tied\n"
        yield parent, child
    finally:
        parent.kill()
        parent.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def seconds_until_gone(pid: int, *, timeout: float) -> float:
    """How long `pid` took to exit (timeout if it did not)."""
    start = time.monotonic()
    while alive(pid) and time.monotonic() - start < timeout:
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.mark.parametrize(("ignore_term", "tie_late"), [
    pytest.param(False, False, id="signalled_case"),
    pytest.param(True, False, id="ignores_sigterm_case"),
    pytest.param(False, True, id="parent_gone_before_tying_case"),
])
def test_a_tied_process_exits_after_its_parent_is_killed(ignore_term: bool, tie_late: bool) -> None:
    with tied_child(ignore_term=ignore_term, tie_late=tie_late) as (parent, child):
        parent.kill()
        parent.wait()
        assert seconds_until_gone(child, timeout=10) < 5


def test_a_tied_process_lives_while_its_parent_does() -> None:
    with tied_child(ignore_term=False, tie_late=False) as (_, child):
        time.sleep(1.5)  # longer than the grace and three polls of the watch thread
        assert alive(child)


# A server worker whose supervisor (`serve`) is killed before the worker's lifespan start-up runs.
LATE_WORKER = """
import asyncio, os, sys, time
from apps.core.lifeline import PARENT_PID_ENV, follow_the_server
os.environ[PARENT_PID_ENV] = sys.argv[1]
print(os.getpid(), flush=True)
while os.getppid() == int(sys.argv[1]):
    time.sleep(0.01)
asyncio.run(follow_the_server())
time.sleep(60)
"""


def test_a_server_worker_starting_after_serve_died_stops_at_once() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, LATE_WORKER, "0", "0"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    try:
        parent.kill()
        parent.wait()
        assert seconds_until_gone(worker, timeout=10) < 5
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)
