"""Langfuse: each call as a trace with one generation, through its batch ingestion API
(`POST {LANGFUSE_HOST}/api/public/ingestion`, basic auth with the public and secret keys)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apps.teams.log_callbacks.payloads import call_record, event_id
from apps.teams.log_callbacks.senders import DeliveryFailed, basic_auth, http_send, json_body, param
from apps.teams.models import SpendLog

DEFAULT_HOST = "https://cloud.langfuse.com"


def ingestion_events(row: SpendLog) -> list[dict[str, Any]]:
    """A trace and its generation; ids derive from the call, so Langfuse upserts a batch sent twice."""
    record = call_record(row)
    trace_id, stamp = event_id(row), record["endTime"]
    metadata = {k: record[k] for k in ("request_id", "attempt", "model_id", "custom_llm_provider", "hashed_api_key",
                                        "team_id", "user_id", "end_user", "latency_ms", "ttft_ms", "error_type")}
    trace = {"id": trace_id, "timestamp": record["startTime"], "name": f"tollgate-{row.call_type}",
             "userId": row.end_user or row.user_id or None, "tags": record["request_tags"], "metadata": metadata}
    generation = {
        "id": f"{trace_id}-generation", "traceId": trace_id, "name": row.call_type, "model": row.model_alias,
        "startTime": record["startTime"], "endTime": record["endTime"],
        "usage": {"input": row.prompt_tokens, "output": row.completion_tokens, "total": record["total_tokens"],
                  "unit": "TOKENS"},
        "costDetails": {"total": record["response_cost"]}, "metadata": metadata,
        "level": "DEFAULT" if row.status == "success" else "ERROR",
        "statusMessage": row.error_type or None,
    }
    return [{"id": f"{trace_id}-trace-create", "timestamp": stamp, "type": "trace-create", "body": trace},
            {"id": f"{trace_id}-generation-create", "timestamp": stamp, "type": "generation-create",
             "body": generation}]


class LangfuseSender:
    def __init__(self, params: Mapping[str, Any]) -> None:
        self.host = param(params, "langfuse_host", env="LANGFUSE_HOST", default=DEFAULT_HOST).rstrip("/")
        self.public_key = param(params, "langfuse_public_key", env="LANGFUSE_PUBLIC_KEY")
        self.secret_key = param(params, "langfuse_secret", env="LANGFUSE_SECRET_KEY")

    def send(self, rows: Sequence[SpendLog]) -> None:
        if not (self.public_key and self.secret_key):
            raise DeliveryFailed("no Langfuse keys: set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY")
        batch = [event for row in rows for event in ingestion_events(row)]
        http_send("POST", f"{self.host}/api/public/ingestion", json_body({"batch": batch}),
                  {"Content-Type": "application/json", "Authorization": basic_auth(self.public_key, self.secret_key)})
