"""Where a realtime handshake's key, model and subprotocol are read."""
from __future__ import annotations

from typing import Any

import pytest

from apps.routing.realtime.handshake import realtime_request


def scope(query: str = "", headers: dict[str, str] | None = None, subprotocols: list[str] | None = None) -> Any:
    return {"type": "websocket", "path": "/v1/realtime", "query_string": query.encode(),
            "headers": [(name.encode(), value.encode()) for name, value in (headers or {}).items()],
            "subprotocols": subprotocols or []}


@pytest.mark.parametrize("handshake", [
    pytest.param(scope("model=rt", {"Authorization": "Bearer sk-1"}), id="bearer_case"),
    pytest.param(scope("model=rt", {"api-key": "sk-1"}), id="api_key_header_case"),
    pytest.param(scope("model=rt&api_key=sk-1"), id="query_case"),
    pytest.param(scope("model=rt", subprotocols=["realtime", "openai-insecure-api-key.sk-1"]), id="subprotocol_case"),
])
def test_the_key_is_found_where_clients_put_it(handshake: Any) -> None:
    request = realtime_request(handshake)
    assert (request.key, request.model, request.meta["HTTP_AUTHORIZATION"]) == ("sk-1", "rt", "Bearer sk-1")


def test_a_header_key_wins_over_the_query_one() -> None:
    assert realtime_request(scope("model=rt&api_key=sk-q", {"authorization": "Bearer sk-h"})).key == "sk-h"


def test_no_key_and_azure_deployment_query() -> None:
    request = realtime_request(scope("api-version=2024-10-01-preview&deployment=rt-azure"))
    assert (request.key, request.model, "HTTP_AUTHORIZATION" in request.meta) == (None, "rt-azure", False)


def test_the_realtime_subprotocol_is_accepted_and_the_beta_one_becomes_a_header() -> None:
    request = realtime_request(scope("model=rt", subprotocols=["realtime", "openai-beta.realtime-v1"]))
    assert (request.subprotocol, request.headers["openai-beta"]) == ("realtime", "realtime=v1")
    assert realtime_request(scope("model=rt")).subprotocol is None
