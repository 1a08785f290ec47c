"""The benchmark's /v1/responses phase: the mock's Responses answer and the report row beside chat."""
from __future__ import annotations

import json

from bench import report
from bench.run import RESPONSES_BODY, parse_args, plan_for
from tests.bench.test_bench import exchange, post


async def test_mock_upstream_answers_responses_with_a_new_id_each_time() -> None:
    data = await exchange(post(RESPONSES_BODY, "/v1/responses") + post(RESPONSES_BODY, "/v1/responses"))
    bodies = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in data.split(b"HTTP/1.1 ")[1:]]
    assert [body["object"] for body in bodies] == ["response", "response"]
    assert bodies[0]["id"] != bodies[1]["id"]
    assert bodies[0]["output"][0]["content"][0]["text"] == "This is a canned answer from the mock."
    assert bodies[0]["usage"]["total_tokens"] == 20


def test_responses_rows_are_shown_beside_chat() -> None:
    def row(kind: str, cpu: float) -> dict[str, object]:
        return {"target": "gateway-key", "kind": kind, "tool": "k6", "target_rate": 500, "achieved_rate": 500.0,
                "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0, "cpu_ms_per_call": {"gateway": cpu}}

    table = report.responses_table([row("chat", 0.6), row("responses", 0.9)])
    assert table[2] == "| gateway-key | k6 | 500/s fixed | 500 | 1.00 / 3.00 | 0 | 0.900 | 0.600 | 1.50x |"
    assert plan_for(parse_args(["--quick"])).responses_rates == [500]
