"""The bench's CPU meter keeps the CPU of a group member that exits mid-phase (a PostgreSQL backend that closes)."""
from __future__ import annotations

import subprocess
import sys

from bench import procstat

BURN_SECONDS = 0.3
# A reaper (the postmaster's part): starts a child, waits for it, says so, then idles. The child (a backend's
# part) waits for a line on stdin, burns BURN_SECONDS of CPU, and exits.
REAPER = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", '''
import os, sys
sys.stdin.readline()
while sum(os.times()[:2]) < {BURN_SECONDS}:
    pass
'''])
print(child.pid, flush=True)
child.wait()
print("reaped", flush=True)
time.sleep(60)
"""


def test_a_member_that_exits_mid_phase_keeps_its_cpu_in_the_group() -> None:
    reaper = subprocess.Popen([sys.executable, "-c", REAPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reaper.stdin is not None and reaper.stdout is not None
    try:
        child = int(reaper.stdout.readline())
        before = procstat.group_cpu([reaper.pid, child])
        reaper.stdin.write("go\n")
        reaper.stdin.flush()
        assert reaper.stdout.readline() == "reaped\n"
        after = procstat.group_cpu([reaper.pid])  # the child is gone from the group's live members
    finally:
        reaper.kill()
        reaper.wait()
    # The child used at most its interpreter's start-up before `before`, and BURN_SECONDS in all.
    assert (after - before).total >= BURN_SECONDS - 0.1
    assert procstat.cpu_seconds(child) == 0.0  # gone: only its parent's reaped-children times still hold it


def test_a_process_that_is_gone_counts_nothing() -> None:
    process = subprocess.run([sys.executable, "-c", "print(__import__('os').getpid())"], capture_output=True,
                             text=True, check=True)
    assert procstat.group_cpu([int(process.stdout)]) == procstat.CpuTimes()
