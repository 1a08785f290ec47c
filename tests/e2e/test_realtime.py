"""`/v1/realtime` through the gateway process: the official `openai` SDK's realtime client (and a bare
`websockets` client where the SDK cannot say it) against a mock Realtime API that records what it got."""
from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from apps.core.secrets import encrypt
from apps.routing.models import Deployment, RouterSettings
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import make_key, wait_for_spend_rows
from tests.upstreams import realtime
from tests.upstreams.realtime import RealtimeUpstream

# gpt-realtime's list price for realtime.USAGE: text in 30 x 4e-6 + cached text 10 x 4e-7, audio in 40 x 3.2e-5 +
# cached audio 20 x 4e-7, text out 5 x 1.6e-5, audio out 100 x 6.4e-5.
RESPONSE_COST = Decimal("0.007892")


@pytest.fixture
def upstream(transactional_db: None) -> Iterator[RealtimeUpstream]:
    """The OpenAI Realtime mock, deployed as `rt` (openai/gpt-realtime, priced from the shipped table)."""
    with realtime.realtime_upstream("openai") as mock:
        RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
        Deployment.objects.create(model_name="rt", provider="openai", provider_model=realtime.MODEL,
                                  api_base=f"{mock.url}/v1", api_key_encrypted=encrypt(realtime.API_KEY), timeout=10)
        yield mock


def ws_url(gateway: GatewayProcess, query: str = "model=rt") -> str:
    return f"ws://127.0.0.1:{gateway.port}/v1/realtime?{query}"


def sdk_for(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{gateway.url}/v1", max_retries=0, timeout=30)


def until(socket: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """Server events up to and including the first of type `kind`."""
    events: list[dict[str, Any]] = []
    while not events or events[-1]["type"] != kind:
        events.append(json.loads(socket.recv(timeout=10)))
    return events


def test_sdk_session_round_trip_is_relayed_and_billed(upstream: RealtimeUpstream, gateway: GatewayProcess) -> None:
    key, secret = make_key(None, None, key_alias="rt-key")
    with sdk_for(gateway, secret).realtime.connect(model="rt") as connection:
        connection.session.update(session={"type": "realtime", "instructions": "Be brief."})
        connection.response.create()
        kinds, text = [], ""
        for server_event in connection:
            kinds.append(server_event.type)
            if server_event.type == "response.output_text.delta":
                text += server_event.delta
            if server_event.type == "response.done":
                break
    assert kinds == ["session.created", "session.updated", "response.created", "response.output_text.delta",
                     "response.output_text.delta", "response.done"]
    assert text == "Hello!"
    [handshake] = upstream.handshakes
    assert (handshake.path, dict(handshake.query)) == ("/v1/realtime", {"model": realtime.MODEL})
    assert handshake.headers["authorization"] == f"Bearer {realtime.API_KEY}"
    assert secret not in json.dumps(dict(handshake.headers))
    assert [json.loads(frame)["type"] for frame in upstream.frames] == ["session.update", "response.create"]
    assert json.loads(upstream.frames[0])["session"] == {"type": "realtime", "instructions": "Be brief."}
    [row] = wait_for_spend_rows(1, key_hash=key.token_hash, call_type="realtime")
    assert (row.prompt_tokens, row.completion_tokens, row.cached_tokens, row.status) == (100, 105, 30, "success")
    assert row.cost == RESPONSE_COST
    key.refresh_from_db()
    assert key.spend == RESPONSE_COST


def test_frames_pass_both_ways_byte_for_byte(upstream: RealtimeUpstream, gateway: GatewayProcess) -> None:
    odd = '{"type":  "response.create" ,"response": {"instructions": "caf\\u00e9"}}'
    with connect(ws_url(gateway), additional_headers={"Authorization": f"Bearer {MASTER_KEY}"}) as socket:
        first = socket.recv(timeout=10)
        socket.send(odd)
        received = [first, *(json.dumps(event, separators=(",", ":")) for event in until(socket, "response.done"))]
    assert upstream.frames == [odd]
    assert [first, *upstream.sent[1:]] == upstream.sent
    assert [json.loads(frame) for frame in received] == [json.loads(frame) for frame in upstream.sent]


@pytest.mark.parametrize("how", ["query_case", "subprotocol_case", "api_key_header_case"])
def test_the_key_is_read_where_openai_clients_send_it(upstream: RealtimeUpstream, gateway: GatewayProcess,
                                                      how: str) -> None:
    _, secret = make_key(None, None)
    options: dict[str, Any] = {
        "query_case": {"uri": ws_url(gateway, f"model=rt&api_key={secret}")},
        "subprotocol_case": {"uri": ws_url(gateway), "subprotocols": [
            "realtime", f"openai-insecure-api-key.{secret}", "openai-beta.realtime-v1"]},
        "api_key_header_case": {"uri": ws_url(gateway), "additional_headers": {"api-key": secret}},
    }[how]
    with connect(**options) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "session.created"
        accepted = socket.subprotocol
    [handshake] = upstream.handshakes
    assert dict(handshake.query) == {"model": realtime.MODEL}  # the gateway's key never goes upstream
    if how == "subprotocol_case":
        assert accepted == "realtime"
        assert handshake.headers["openai-beta"] == "realtime=v1"


@pytest.mark.parametrize("key", [pytest.param("sk-not-a-key", id="bad_key_case"), pytest.param("", id="no_key_case")])
def test_a_refused_key_is_denied_at_the_handshake(upstream: RealtimeUpstream, gateway: GatewayProcess,
                                                  key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(gateway), additional_headers=headers, open_timeout=10)
    response = refused.value.response
    assert response.status_code == 401
    error = json.loads(response.body or b"{}")["error"]
    assert error["type"] == "authentication_error" and set(error) == {"message", "type", "param", "code"}
    assert upstream.handshakes == []


def test_the_sdk_sees_a_refused_key_as_an_error(upstream: RealtimeUpstream, gateway: GatewayProcess) -> None:
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the SDK surfaces the library's handshake error
        with sdk_for(gateway, "sk-wrong").realtime.connect(model="rt") as connection:
            connection.recv()
    assert "401" in str(refused.value)
    assert upstream.handshakes == []


def test_budget_spent_mid_session_closes_with_1008(upstream: RealtimeUpstream, gateway: GatewayProcess) -> None:
    key, secret = make_key(None, None, max_budget=Decimal("0.005"))
    with connect(ws_url(gateway), additional_headers={"Authorization": f"Bearer {secret}"}) as socket:
        socket.recv(timeout=10)
        socket.send(json.dumps({"type": "response.create"}))
        events = until(socket, "error")
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert [event["type"] for event in events][-2:] == ["response.done", "error"]
    assert events[-1]["error"]["type"] == "budget_exceeded"
    assert "Budget has been exceeded" in events[-1]["error"]["message"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    upstream.wait_for(lambda: len(upstream.close_codes) == 1)
    [row] = wait_for_spend_rows(1, key_hash=key.token_hash, call_type="realtime")
    assert row.cost == RESPONSE_COST
    with pytest.raises(InvalidStatus) as refused:  # spent: the next session is refused at the handshake
        connect(ws_url(gateway), additional_headers={"Authorization": f"Bearer {secret}"}, open_timeout=10)
    assert refused.value.response.status_code == 400


def test_client_hang_up_closes_the_upstream(upstream: RealtimeUpstream, gateway: GatewayProcess) -> None:
    with connect(ws_url(gateway), additional_headers={"Authorization": f"Bearer {MASTER_KEY}"}) as socket:
        socket.recv(timeout=10)
    upstream.wait_for(lambda: upstream.close_codes == [1000])


def test_upstream_hang_up_closes_the_client_with_its_code(upstream: RealtimeUpstream,
                                                          gateway: GatewayProcess) -> None:
    with connect(ws_url(gateway), additional_headers={"Authorization": f"Bearer {MASTER_KEY}"}) as socket:
        socket.recv(timeout=10)
        upstream.hang_up(4001)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


def test_unknown_model_and_missing_model_are_refused(upstream: RealtimeUpstream, gateway: GatewayProcess) -> None:
    for query, status in (("model=nope", 404), ("", 400)):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(gateway, query), additional_headers={"Authorization": f"Bearer {MASTER_KEY}"})
        assert refused.value.response.status_code == status
    assert upstream.handshakes == []


def test_azure_sdk_session_reaches_the_azure_realtime_path(transactional_db: None, gateway: GatewayProcess) -> None:
    with realtime.realtime_upstream("azure") as mock:
        Deployment.objects.create(model_name="rt-azure", provider="azure", provider_model=realtime.AZURE_DEPLOYMENT,
                                  api_base=mock.url, api_key_encrypted=encrypt(realtime.API_KEY), timeout=10,
                                  model_info={"base_model": "azure/gpt-4o-realtime-preview"})
        client = openai.AzureOpenAI(azure_endpoint=gateway.url, api_key=MASTER_KEY, api_version="2024-10-01-preview",
                                    websocket_base_url=f"ws://127.0.0.1:{gateway.port}/openai", max_retries=0)
        with client.realtime.connect(model="rt-azure") as connection:
            connection.response.create()
            kinds = []
            for server_event in connection:
                kinds.append(server_event.type)
                if server_event.type == "response.done":
                    break
        [handshake] = mock.handshakes
    assert kinds[0] == "session.created" and kinds[-1] == "response.done"
    assert (handshake.path, dict(handshake.query)) == ("/openai/realtime", {"api-version": realtime.AZURE_VERSION,
                                                                            "deployment": realtime.AZURE_DEPLOYMENT})
    assert handshake.headers["api-key"] == realtime.API_KEY
    [row] = wait_for_spend_rows(1, call_type="realtime", model_alias="rt-azure")
    # gpt-4o-realtime-preview's list price: text 5e-6 / cached 2.5e-6 / out 2e-5, audio in 4e-5 / out 8e-5.
    assert row.cost == Decimal("0.000150") + Decimal("0.000025") + Decimal("0.0016") + Decimal("0.0008") \
        + Decimal("0.0001") + Decimal("0.008")


def test_a_rate_limit_reached_mid_session_closes_with_1013(upstream: RealtimeUpstream,
                                                           gateway: GatewayProcess) -> None:
    _, secret = make_key(None, None, rpm_limit=1)  # the session's first response is this minute's one call
    with connect(ws_url(gateway), additional_headers={"Authorization": f"Bearer {secret}"}) as socket:
        socket.recv(timeout=10)
        socket.send(json.dumps({"type": "response.create"}))
        events = until(socket, "error")
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert (events[-1]["error"]["type"], events[-1]["error"]["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013


def test_a_key_without_the_model_and_a_provider_without_realtime_are_refused(
        upstream: RealtimeUpstream, gateway: GatewayProcess) -> None:
    Deployment.objects.create(model_name="rt-groq", provider="groq", provider_model="llama", api_base=upstream.url,
                              api_key_encrypted=encrypt("gsk"), timeout=10)
    _, limited = make_key(None, None, allowed_models=["gpt-4o"])
    for key, model, status, code in ((limited, "rt", 401, None), (MASTER_KEY, "rt-groq", 400, "unsupported_operation")):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(gateway, f"model={model}"), additional_headers={"Authorization": f"Bearer {key}"})
        assert refused.value.response.status_code == status
        if code is not None:
            assert json.loads(refused.value.response.body or b"{}")["error"]["code"] == code
    assert upstream.handshakes == []
