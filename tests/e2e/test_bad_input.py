"""Bad input is bounded and refused on every public surface, over a real socket, and the gateway keeps serving.

Oversized bodies (declared or chunked) get 413 without being read, deep JSON and invalid UTF-8 get 400, a huge
request head gets 431, and clients sending a head or a body a byte at a time are cut off (408) without holding an
in-flight slot while other clients are served.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.agents.models import Agent
from tests.conftest import MASTER_KEY, GatewayProcess, stop_leaving_no_spend

LIMIT = 65536
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
# One path per public surface: the OpenAI API, Anthropic's, the management API, A2A, the admin and the dashboard.
SURFACES = [
    pytest.param("/v1/chat/completions", id="openai_case"),
    pytest.param("/v1/messages", id="anthropic_case"),
    pytest.param("/key/generate", id="management_case"),
    pytest.param("/a2a/bounded-agent", id="a2a_case"),
    pytest.param("/accounts/login/", id="login_page_case"),
    pytest.param("/admin/teams/team/add/", id="admin_case"),
    pytest.param("/dashboard/", id="dashboard_case"),
]
JSON_SURFACES = SURFACES[:4]


@pytest.fixture(scope="module")
def bounded(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[GatewayProcess]:
    """A gateway with small bounds, two in-flight slots and no fair sharing (so slow clients can fill it)."""
    server = GatewayProcess(log_dir=tmp_path_factory.mktemp("bounds"), extra_env={
        "TOLLGATE_MAX_REQUEST_BYTES": str(LIMIT), "TOLLGATE_MAX_HEADER_BYTES": "16384",
        "TOLLGATE_HEADER_TIMEOUT": "1", "TOLLGATE_BODY_TIMEOUT": "1", "TOLLGATE_BODY_MIN_RATE": "1000",
        "TOLLGATE_MAX_IN_FLIGHT": "2", "TOLLGATE_FAIR_SHARE": "0"})
    yield server
    stop_leaving_no_spend(server, django_db_blocker)


@pytest.fixture
def agent(transactional_db: None, example_models: None) -> Agent:
    return Agent.objects.create(agent_id="bounded-agent", agent_name="bounded-agent", kind="hosted",
                                description="bounded", litellm_params={"model": "gpt-4o-mini"},
                                agent_card_params={"name": "bounded-agent", "description": "bounded"})


def connect(server: GatewayProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def head(path: str, *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: gateway", f"Authorization: Bearer {MASTER_KEY}",
             "Content-Type: application/json", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def still_serving(server: GatewayProcess) -> None:
    answer = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    assert httpx.get(f"{server.url}/accounts/login/", timeout=30).status_code == 200


def assert_error_shape(body: dict[str, Any], *, code: str) -> None:
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("example_models", "agent")
@pytest.mark.parametrize("path", SURFACES)
def test_a_declared_body_past_the_limit_is_413_before_it_is_sent(bounded: GatewayProcess, path: str) -> None:
    with connect(bounded) as sock:
        sock.sendall(head(path, f"Content-Length: {10 ** 9}") + b'{"model": ')  # a gigabyte announced, 10 bytes sent
        answer = read_answer(sock)  # answered and closed without waiting for the rest
    assert status_of(answer) == 413
    assert b"connection: close" in answer.lower()
    body = httpx.Response(413, content=answer.split(b"\r\n\r\n", 1)[1]).json()
    assert_error_shape(body, code="request_too_large")
    assert body["error"]["message"] == f"Request body is larger than the limit of {LIMIT} bytes (TOLLGATE_MAX_REQUEST_BYTES)."
    still_serving(bounded)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("example_models", "agent")
@pytest.mark.parametrize("path", SURFACES)
def test_a_chunked_body_past_the_limit_is_413_and_the_client_reads_it(bounded: GatewayProcess, path: str) -> None:
    sent: list[int] = []

    def pieces() -> Iterator[bytes]:
        for _ in range(40):  # 40 x 8 KiB: five times the limit, in chunked transfer encoding
            sent.append(1)
            yield b"x" * 8192

    answer = httpx.post(f"{bounded.url}{path}", content=pieces(), headers={**AUTH, "Content-Type": "application/json"},
                        timeout=30)
    assert answer.status_code == 413
    assert_error_shape(answer.json(), code="request_too_large")
    still_serving(bounded)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("example_models", "agent")
@pytest.mark.parametrize("depth", [
    pytest.param(600, id="parsed_but_past_what_orjson_writes_case"),  # orjson reads 1024 levels, writes 254
    pytest.param(5000, id="past_what_orjson_reads_case")])
@pytest.mark.parametrize("path", JSON_SURFACES)
def test_deeply_nested_json_is_400(bounded: GatewayProcess, path: str, depth: int) -> None:
    nested = (b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "metadata": {"x": '
              + b"[" * depth + b"]" * depth + b"}, " + b'"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {}}')
    answer = httpx.post(f"{bounded.url}{path}", content=nested, headers={**AUTH, "Content-Type": "application/json"},
                        timeout=30)
    assert_refused_as_malformed(answer, path)
    still_serving(bounded)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("example_models", "agent")
@pytest.mark.parametrize("path", JSON_SURFACES)
def test_invalid_utf8_in_a_json_body_is_400(bounded: GatewayProcess, path: str) -> None:
    broken = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "caf\xe9 \xff\xfe"}]}'
    answer = httpx.post(f"{bounded.url}{path}", content=broken, headers={**AUTH, "Content-Type": "application/json"},
                        timeout=30)
    assert_refused_as_malformed(answer, path)
    still_serving(bounded)


def assert_refused_as_malformed(answer: httpx.Response, path: str) -> None:
    """400 in the surface's own shape: OpenAI's, Anthropic's on /v1/messages, JSON-RPC's parse error on A2A."""
    body = answer.json()
    if path.startswith("/a2a/"):
        assert answer.status_code == 200  # JSON-RPC reports its errors in the envelope
        assert body["error"]["code"] == -32700
    elif path == "/v1/messages":
        assert answer.status_code == 400
        assert (body["type"], body["error"]["type"]) == ("error", "invalid_request_error")
    else:
        assert answer.status_code == 400
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert body["error"]["type"] == "invalid_request_error"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("example_models")
def test_a_huge_request_head_is_431_and_closed(bounded: GatewayProcess) -> None:
    with connect(bounded) as sock:
        try:
            sock.sendall(head("/v1/chat/completions", "X-Padding: " + "a" * 1_000_000))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while still sending: the server stopped reading once past the limit
        answer = read_answer(sock)
    assert status_of(answer) == 431
    body = httpx.Response(431, content=answer.split(b"\r\n\r\n", 1)[1]).json()
    assert "TOLLGATE_MAX_HEADER_BYTES" in body["error"]["message"]
    still_serving(bounded)


def drip(sock: socket.socket, data: bytes, stop: threading.Event) -> None:
    """Send `data` a byte at a time, a tenth of a second apart, until it is sent or the server hangs up."""
    for byte in data:
        if stop.wait(0.1):
            return
        try:
            sock.send(bytes([byte]))
        except OSError:
            return


def served_while(server: GatewayProcess, done: threading.Event) -> int:
    """Calls served (200) while `done` is not set: other clients are not held up by the slow ones."""
    served = 0
    while not done.is_set():
        assert httpx.get(f"{server.url}/health/liveliness", timeout=5).status_code == 200
        served += 1
    return served


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("example_models")
def test_a_head_sent_a_byte_at_a_time_is_cut_off_while_others_are_served(bounded: GatewayProcess) -> None:
    stop = threading.Event()
    slow = [connect(bounded) for _ in range(3)]
    drippers = [threading.Thread(target=drip, args=(sock, head("/v1/chat/completions", "X-Slow: " + "s" * 500), stop))
                for sock in slow]
    for thread in drippers:
        thread.start()
    answers: list[bytes] = []
    done = threading.Event()

    def read_all() -> None:
        answers.extend(read_answer(sock) for sock in slow)
        done.set()

    reader = threading.Thread(target=read_all)
    reader.start()
    served = served_while(bounded, done)
    reader.join(30)
    stop.set()
    for thread in drippers:
        thread.join(10)
    for sock in slow:
        sock.close()
    assert [status_of(answer) for answer in answers] == [408, 408, 408]
    assert served > 0
    still_serving(bounded)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("example_models")
def test_a_body_sent_a_byte_at_a_time_is_cut_off_and_frees_its_slot(bounded: GatewayProcess) -> None:
    body = httpx.Request("POST", "/", json=CHAT).content
    stop = threading.Event()
    slow = [connect(bounded) for _ in range(2)]  # both in-flight slots
    for sock in slow:
        sock.sendall(head("/v1/chat/completions", f"Content-Length: {len(body)}"))
    drippers = [threading.Thread(target=drip, args=(sock, body, stop)) for sock in slow]
    for thread in drippers:
        thread.start()
    deadline = time.monotonic() + 10
    while httpx.post(f"{bounded.url}/v1/chat/completions", json=CHAT, headers=AUTH, timeout=30).status_code != 503:
        assert time.monotonic() < deadline, "the slow bodies never held the slots"
    answers = [read_answer(sock) for sock in slow]  # cut off after the body timeout
    stop.set()
    for thread in drippers:
        thread.join(10)
    for sock in slow:
        sock.close()
    assert [status_of(answer) for answer in answers] == [408, 408]
    assert b"TOLLGATE_BODY_TIMEOUT" in answers[0]
    still_serving(bounded)  # the slots are free again
