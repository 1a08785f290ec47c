"""The metrics registry, the per-worker files and their merge, and the text format as Prometheus parses it."""
from __future__ import annotations

import os
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from apps.core.metrics import BUCKETS, Registry
from apps.core.metrics.exposition import Gauge, render
from apps.core.metrics.shared import encode, merged, write


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_workers_files_are_summed_into_one_scrape(tmp_path: Path) -> None:
    first, second = Registry(), Registry()
    for registry, calls in ((first, 3), (second, 4)):
        for _ in range(calls):
            registry.inc("tollgate_http_requests_total", ("v1/chat/completions", "POST", "200"))
            registry.observe("tollgate_http_request_duration_seconds", ("v1/chat/completions",), 0.003)
    write(first, {"in_flight": 2.0}, tmp_path)
    (tmp_path / "999999999.json").write_bytes(encode(second, {"in_flight": 5.0}).replace(
        f'"pid":{os.getpid()}'.encode(), b'"pid":999999999'))  # a worker that has died since
    result = merged(tmp_path)
    assert result.counters["tollgate_http_requests_total"][("v1/chat/completions", "POST", "200")] == 7
    histogram = result.histograms["tollgate_http_request_duration_seconds"][("v1/chat/completions",)]
    assert sum(histogram.counts) == 7 and abs(histogram.total - 0.021) < 1e-9
    assert result.gauges == {"in_flight": 2.0} and result.workers == 1, "a dead worker's gauges drop out"


def test_text_format_parses_as_prometheus(tmp_path: Path) -> None:
    registry = Registry()
    registry.inc("tollgate_llm_calls_total", ("gpt", 'dep"1', "openai", "chat", "success", ""))
    registry.inc("tollgate_spend_usd_total", ("dep-1",), 0.000125)
    registry.observe("tollgate_upstream_duration_seconds", ("dep-1",), 0.2)
    registry.observe("tollgate_upstream_duration_seconds", ("dep-1",), 500.0)
    write(registry, {}, tmp_path)
    text = render(merged(tmp_path), [Gauge("tollgate_in_flight", "in flight", (), (((), 3.0),))])
    found = samples(text)
    calls = ("tollgate_llm_calls_total", (("call_type", "chat"), ("deployment", 'dep"1'), ("error", ""),
                                          ("model_group", "gpt"), ("provider", "openai"), ("status", "success")))
    assert found[calls] == 1.0
    assert found[("tollgate_spend_usd_total", (("deployment", "dep-1"),))] == 0.000125
    bucket = ("tollgate_upstream_duration_seconds_bucket", (("deployment", "dep-1"), ("le", "0.25")))
    assert found[bucket] == 1.0
    assert found[("tollgate_upstream_duration_seconds_bucket", (("deployment", "dep-1"), ("le", "+Inf")))] == 2.0
    assert found[("tollgate_upstream_duration_seconds_count", (("deployment", "dep-1"),))] == 2.0
    assert found[("tollgate_in_flight", ())] == 3.0


def test_keys_past_the_cap_fold_into_other() -> None:
    registry = Registry(max_keys=2)
    assert [registry.bounded_key(k) for k in ("a", "b", "c", "a", "d")] == ["a", "b", "other", "a", "other"]


def test_a_file_from_another_bucket_layout_is_skipped_not_misread(tmp_path: Path) -> None:
    registry = Registry()
    registry.observe("tollgate_upstream_duration_seconds", ("d",), 0.1)
    data = orjson.loads(encode(registry, {}))
    data["histograms"]["tollgate_upstream_duration_seconds"][0][1] = [1] * (len(BUCKETS) + 3)
    (tmp_path / "1.json").write_bytes(orjson.dumps(data))
    assert merged(tmp_path).histograms.get("tollgate_upstream_duration_seconds", {}) == {}
