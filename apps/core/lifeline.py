"""Processes that must not outlive their parent: the Celery worker `serve` starts, and the beat a worker embeds.

Linux's parent-death signal (prctl PR_SET_PDEATHSIG) signals a child as soon as its parent exits, however the
parent exits (SIGKILL included). It leaves two gaps. A parent that dies before the child arms it never signals
the child. And a child that handles the signal may lose it or hang on its way out: Celery's embedded beat, forked
with the worker's SIGTERM handler, ignores a SIGTERM that arrives before it installs its own, which left beat
processes running after their worker had exited. `tie_to_parent` closes both gaps with a watch thread that polls
for the parent: once the parent is gone it sends SIGTERM itself if the kernel will not, and SIGKILL after a grace.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send `signum` to this process when its parent exits; False where that is not possible."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, signum) == 0)
    except (OSError, AttributeError):
        return False  # not Linux: the watch thread of tie_to_parent does the job alone


def tie_to_parent(parent_pid: int, *, grace: float, kernel_signal: bool = True) -> None:
    """Stop this process once `parent_pid`, its parent, is gone: SIGTERM at once, SIGKILL `grace` seconds later.

    `kernel_signal=False` leaves the parent-death signal alone (the watch thread does it all): the kernel sends
    it when the parent *thread* that started this process exits, which for a server supervisor restarting
    workers from a thread of its own may be long before the supervisor goes.
    """
    # Armed before the check, so a parent that exits after the check is signalled by the kernel.
    signalled_by_kernel = (kernel_signal and set_parent_death_signal(signal.SIGTERM)
                           and os.getppid() == parent_pid)
    threading.Thread(target=_watch, args=(parent_pid, grace, signalled_by_kernel), name="lifeline",
                     daemon=True).start()


def _watch(parent_pid: int, grace: float, signalled_by_kernel: bool) -> None:
    """Poll the parent; when it is gone, make sure this process follows within `grace` seconds."""
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    if not signalled_by_kernel:
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace)
    os.kill(os.getpid(), signal.SIGKILL)


# The pid of the process to follow, in the environment of what it starts: `manage.py serve` sets its own before it
# starts Celery and becomes the server (same pid), so the Celery worker and the server's workers follow it.
PARENT_PID_ENV = "TOLLGATE_PARENT_PID"
WORKER_GRACE_SECONDS = 35.0  # the server's own 30 s drain of open calls on SIGTERM, and a margin


async def follow_the_server() -> None:
    """Lifespan start-up of a server worker: once the supervisor `serve` became is gone (even SIGKILLed), stop,
    rather than keep serving its port as an orphan. A single-process server is `serve` itself: nothing to do."""
    serve_pid = os.environ.get(PARENT_PID_ENV, "")
    # No check that serve is still the parent: a worker whose supervisor died before this start-up ran has been
    # reparented already, and tie_to_parent stops it at once (the race it exists to close).
    if serve_pid.isdigit() and os.getpid() != int(serve_pid):
        tie_to_parent(int(serve_pid), grace=WORKER_GRACE_SECONDS, kernel_signal=False)
