"""Prometheus metrics kept in plain dicts: a counter bump or a histogram observation is a dict update, no lock.

Each server worker process holds its own `REGISTRY`; `apps.core.metrics.shared` writes it to a file per process
every second and merges every worker's file into one scrape, so `/metrics` answers for the whole pod whichever
worker takes the call. Label values must come from bounded sets (route templates, deployment ids, status codes,
keys up to `max_keys`), never from raw paths or request ids: `bounded_key` folds keys past the cap into "other".
"""
from __future__ import annotations

import bisect
from contextvars import ContextVar
from dataclasses import dataclass, field

# Seconds. Gateway overhead sits in the first buckets, upstream and total latencies in the later ones.
BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                              10.0, 30.0, 60.0, 120.0)
Labels = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Family:
    """One metric's name, help text, kind and label names."""

    name: str
    help: str
    kind: str  # "counter" | "histogram" | "gauge"
    labels: Labels


FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("tollgate_http_requests_total", "API requests answered, by route template, method and status.",
           "counter", ("route", "method", "status")),
    Family("tollgate_http_request_duration_seconds", "Time from the request's body to the answer's start.",
           "histogram", ("route",)),
    Family("tollgate_llm_calls_total", "Upstream attempts by deployment and outcome (failed attempts included).",
           "counter", ("model_group", "deployment", "provider", "call_type", "status", "error")),
    Family("tollgate_llm_tokens_total", "Tokens billed, by deployment and kind.", "counter",
           ("deployment", "kind")),
    Family("tollgate_spend_usd_total", "Spend in USD, by deployment.", "counter", ("deployment",)),
    Family("tollgate_key_calls_total", "Calls by virtual key (alias or hash prefix) and outcome.", "counter",
           ("key", "status")),
    Family("tollgate_key_spend_usd_total", "Spend in USD by virtual key.", "counter", ("key",)),
    Family("tollgate_upstream_duration_seconds", "Upstream attempt time, by deployment.", "histogram",
           ("deployment",)),
    Family("tollgate_overhead_duration_seconds",
           "Gateway time per call minus the time spent waiting on upstreams (non-streamed calls).", "histogram",
           ("route",)),
)}


@dataclass(slots=True)
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))  # the last one is +Inf
    total: float = 0.0


class Registry:
    """This process's counters and histograms, keyed by family name, then by label values."""

    def __init__(self, *, max_keys: int = 500) -> None:
        self.counters: dict[str, dict[Labels, float]]
        self.histograms: dict[str, dict[Labels, Histogram]]
        self.max_keys = max_keys
        self.keys: set[str] = set()
        self.clear()

    def inc(self, name: str, labels: Labels, value: float = 1.0) -> None:
        series = self.counters[name]
        series[labels] = series.get(labels, 0.0) + value

    def observe(self, name: str, labels: Labels, seconds: float) -> None:
        series = self.histograms[name]
        histogram = series.get(labels)
        if histogram is None:
            histogram = series[labels] = Histogram()
        histogram.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        histogram.total += seconds

    def bounded_key(self, key: str) -> str:
        """The key's label, or "other" once `max_keys` distinct keys have been seen (cardinality stays bounded)."""
        if key in self.keys:
            return key
        if len(self.keys) >= self.max_keys:
            return "other"
        self.keys.add(key)
        return key

    def clear(self) -> None:
        """Every family present and empty: recording never has to create one."""
        self.counters = {name: {} for name, family in FAMILIES.items() if family.kind == "counter"}
        self.histograms = {name: {} for name, family in FAMILIES.items() if family.kind == "histogram"}
        self.keys.clear()


REGISTRY = Registry()


# The upstream seconds of the request being served: the API handler sets a fresh holder per request, the router
# adds each attempt's time to it, and the handler subtracts the sum from its own time to get the overhead.
UPSTREAM_SECONDS: ContextVar[list[float] | None] = ContextVar("tollgate_upstream_seconds", default=None)


def record_upstream(deployment: str, seconds: float) -> None:
    """One upstream attempt's time, for its deployment's histogram and the request's overhead."""
    REGISTRY.observe("tollgate_upstream_duration_seconds", (deployment,), seconds)
    holder = UPSTREAM_SECONDS.get()
    if holder is not None:
        holder[0] += seconds


def record_http(route: str, method: str, status: int, seconds: float, *, upstream: float | None) -> None:
    """An answered API request; `upstream` is None for a streamed answer (its overhead is not total - upstream)."""
    REGISTRY.inc("tollgate_http_requests_total", (route, method, str(status)))
    REGISTRY.observe("tollgate_http_request_duration_seconds", (route,), seconds)
    if upstream:
        REGISTRY.observe("tollgate_overhead_duration_seconds", (route,), max(seconds - upstream, 0.0))
