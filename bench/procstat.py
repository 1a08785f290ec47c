"""CPU time and RSS of processes, read from /proc (no psutil), and a background RSS sampler."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat from the state field on ([] when the process is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # The command name may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2:].split()


def cpu_split(pid: int) -> tuple[float, float]:
    """(utime, stime) of one process in seconds ((0, 0) when it is gone)."""
    fields = stat_fields(pid)
    return (int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS) if fields else (0.0, 0.0)


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process in seconds (0.0 when it is gone)."""
    return sum(cpu_split(pid))


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """User and kernel CPU seconds."""

    user: float = 0.0
    system: float = 0.0

    @property
    def total(self) -> float:
        return self.user + self.system

    def __add__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.user + other.user, self.system + other.system)

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.user - other.user, self.system - other.system)


def lineage_cpu(pid: int) -> CpuTimes:
    """A process's CPU plus that of the children it has reaped (cutime, cstime: theirs and, in turn, their
    reaped children's). A child's whole CPU moves into its parent's when the parent waits for it."""
    fields = stat_fields(pid)
    if not fields:
        return CpuTimes()
    utime, stime, cutime, cstime = (int(value) / CLOCK_TICKS for value in fields[11:15])
    return CpuTimes(utime + cutime, stime + cstime)


def group_cpu(pids: Iterable[int]) -> CpuTimes:
    """The CPU a group of processes has used, counting members that have exited, as long as a member reaped them.

    Read the group before and after a phase and subtract; list the members anew each time. A PostgreSQL backend
    that exits mid-phase leaves the live backends, but its CPU is in the postmaster's reaped-children times, so it
    is still counted; the same holds for Redis's save children or a server worker its supervisor replaced.
    """
    total = CpuTimes()
    for pid in pids:
        total += lineage_cpu(pid)
    return total


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def parent_of(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[1]) if fields else None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def descendants(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = parent_of(int(entry))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(found)


def pids_named(name: str) -> list[int]:
    """Processes whose command name (comm) is `name` (redis-server, postgres): read only, never signalled."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


@dataclass
class RssSampler:
    """Samples VmRSS of a set of processes every `interval` seconds and keeps each one's peak."""

    pids: list[int]
    interval: float = 0.25
    peak: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def sample(self) -> None:
        for pid in self.pids:
            self.peak[pid] = max(self.peak.get(pid, 0), rss_kib(pid))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()
