"""LiteLLM's `generic_api` logger: a JSON list of calls POSTed to `GENERIC_LOGGER_ENDPOINT` (or `endpoint`),
with `GENERIC_LOGGER_HEADERS` ("Name=value,Other=value") or `headers` added."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apps.teams.log_callbacks.payloads import call_record
from apps.teams.log_callbacks.senders import DeliveryFailed, http_send, json_body, param, resolved
from apps.teams.models import SpendLog


def header_pairs(raw: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {name.strip(): value.strip() for name, value in pairs if name.strip()}


class GenericAPISender:
    def __init__(self, params: Mapping[str, Any]) -> None:
        self.endpoint = param(params, "endpoint", env="GENERIC_LOGGER_ENDPOINT")
        headers = header_pairs(param(params, "headers_env", env="GENERIC_LOGGER_HEADERS"))
        given = params.get("headers")
        if isinstance(given, Mapping):
            headers.update({str(name): str(resolved(value)) for name, value in given.items()})
        self.headers = {"Content-Type": "application/json", **headers}

    def send(self, rows: Sequence[SpendLog]) -> None:
        if not self.endpoint:
            raise DeliveryFailed("no endpoint: set GENERIC_LOGGER_ENDPOINT or the callback's `endpoint`")
        http_send("POST", self.endpoint, json_body([call_record(row) for row in rows]), self.headers)
