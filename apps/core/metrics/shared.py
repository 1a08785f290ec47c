"""One scrape for the whole pod: each worker process writes its registry to a file, any worker merges them.

The files live in a directory per `serve` (named by the serve process's pid, which its workers inherit), so two
gateways on one host never mix. A worker writes its file every `TOLLGATE_METRICS_WRITE_EVERY` seconds (and the
one answering a scrape writes its own first). Counters and histograms of a worker that died stay in the sum, so
totals never go backwards while the pod lives; its gauges (in flight) drop out.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings

from apps.core.lifeline import PARENT_PID_ENV
from apps.core.metrics import BUCKETS, REGISTRY, Histogram, Labels, Registry

Gauges = dict[str, float]


def group_dir() -> Path:
    """This serve's metrics directory (a lone process, such as a test's, is its own group)."""
    group = os.environ.get(PARENT_PID_ENV) or str(os.getpid())
    return Path(str(settings.TOLLGATE_METRICS_DIR)) / group


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_group(root: Path) -> None:
    """Run by `serve` before its workers start: remove the directories of serves that are gone, and any left under
    this process's pid by an earlier process that had it."""
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.isdigit() and (int(entry.name) == os.getpid() or not alive(int(entry.name))):
            shutil.rmtree(entry, ignore_errors=True)


def encode(registry: Registry, gauges: Gauges) -> bytes:
    return orjson.dumps({
        "pid": os.getpid(),
        "counters": {name: [[list(labels), value] for labels, value in series.items()]
                     for name, series in registry.counters.items()},
        "histograms": {name: [[list(labels), h.counts, h.total] for labels, h in series.items()]
                       for name, series in registry.histograms.items()},
        "gauges": gauges,
    })


def write(registry: Registry, gauges: Gauges, directory: Path | None = None) -> None:
    """This process's file, replaced atomically (a reader never sees half of it)."""
    directory = directory or group_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{os.getpid()}.json"
    temporary = directory / f".{os.getpid()}.tmp"
    temporary.write_bytes(encode(registry, gauges))
    os.replace(temporary, target)


@dataclass
class Merged:
    """Every worker's counters and histograms summed; gauges summed over the live workers only."""

    counters: dict[str, dict[Labels, float]] = field(default_factory=dict)
    histograms: dict[str, dict[Labels, Histogram]] = field(default_factory=dict)
    gauges: Gauges = field(default_factory=dict)
    workers: int = 0

    def add(self, snapshot: dict[str, Any]) -> None:
        for name, series in snapshot.get("counters", {}).items():
            into = self.counters.setdefault(name, {})
            for labels, value in series:
                into[tuple(labels)] = into.get(tuple(labels), 0.0) + value
        for name, series in snapshot.get("histograms", {}).items():
            hist_into = self.histograms.setdefault(name, {})
            for labels, counts, total in series:
                if len(counts) != len(BUCKETS) + 1:
                    continue  # written by a build with other buckets: not summable
                histogram = hist_into.setdefault(tuple(labels), Histogram())
                histogram.counts = [a + b for a, b in zip(histogram.counts, counts)]
                histogram.total += total
        if alive(int(snapshot.get("pid", 0)) or -1):
            self.workers += 1
            for name, value in snapshot.get("gauges", {}).items():
                self.gauges[name] = self.gauges.get(name, 0.0) + value


def merged(directory: Path | None = None) -> Merged:
    """Every worker file of this group, summed (a file being replaced or unreadable is skipped this time)."""
    result = Merged()
    directory = directory or group_dir()
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            result.add(orjson.loads(path.read_bytes()))
    return result


class MetricsWriter:
    """Writes this worker's registry every `every` seconds while serving, and once more on shutdown."""

    def __init__(self, gauges: Any) -> None:
        self.gauges = gauges  # a callable returning this process's gauges
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        REGISTRY.max_keys = settings.TOLLGATE_METRICS_MAX_KEYS
        if settings.TOLLGATE_METRICS_WRITE_EVERY > 0:
            self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        while True:
            await asyncio.sleep(settings.TOLLGATE_METRICS_WRITE_EVERY)
            with contextlib.suppress(OSError):
                write(REGISTRY, self.gauges())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        with contextlib.suppress(OSError):
            write(REGISTRY, {})  # counters kept, this worker's gauges gone


def no_gauges() -> Gauges:
    return {}


writer = MetricsWriter(no_gauges)  # the ASGI app gives it this process's gauges (gatewaysite/asgi.py)
