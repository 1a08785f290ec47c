"""The Prometheus text format (version 0.0.4) of merged metrics plus gauges read at scrape time."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from apps.core.metrics import BUCKETS, FAMILIES, Labels
from apps.core.metrics.shared import Merged

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Gauge:
    """A gauge read when scraped: name, help, and its series as (label names, label values, value)."""

    name: str
    help: str
    label_names: Labels
    series: tuple[tuple[Labels, float], ...]


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(names: Labels, values: Labels, extra: str = "") -> str:
    pairs = [f'{name}="{escape(value)}"' for name, value in zip(names, values)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def counter_lines(name: str, series: Mapping[Labels, float]) -> Iterable[str]:
    family = FAMILIES[name]
    yield f"# HELP {name} {family.help}"
    yield f"# TYPE {name} counter"
    for labels, value in sorted(series.items()):
        yield f"{name}{label_text(family.labels, labels)} {number(value)}"


def histogram_lines(name: str, merged: Merged) -> Iterable[str]:
    family = FAMILIES[name]
    yield f"# HELP {name} {family.help}"
    yield f"# TYPE {name} histogram"
    for labels, histogram in sorted(merged.histograms.get(name, {}).items()):
        running = 0
        for bound, count in zip((*BUCKETS, float("inf")), histogram.counts):
            running += count
            le = 'le="+Inf"' if bound == float("inf") else f'le="{bound!r}"'
            yield f"{name}_bucket{label_text(family.labels, labels, le)} {running}"
        yield f"{name}_sum{label_text(family.labels, labels)} {number(histogram.total)}"
        yield f"{name}_count{label_text(family.labels, labels)} {running}"


def gauge_lines(gauge: Gauge) -> Iterable[str]:
    yield f"# HELP {gauge.name} {gauge.help}"
    yield f"# TYPE {gauge.name} gauge"
    for values, value in gauge.series:
        yield f"{gauge.name}{label_text(gauge.label_names, values)} {number(value)}"


def render(merged: Merged, gauges: Iterable[Gauge]) -> bytes:
    """Every family (counters and histograms also when empty, so dashboards find them), then the gauges."""
    lines: list[str] = []
    for name, family in FAMILIES.items():
        if family.kind == "counter":
            lines.extend(counter_lines(name, merged.counters.get(name, {})))
        elif family.kind == "histogram":
            lines.extend(histogram_lines(name, merged))
    for gauge in gauges:
        lines.extend(gauge_lines(gauge))
    return ("\n".join(lines) + "\n").encode()
