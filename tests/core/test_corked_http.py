"""The corked server protocol: a response's writes of one loop turn leave as one write, in order."""
from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import pytest

from apps.core.corked_http import CorkedTransport
from apps.core.management.commands.serve import HTTP_PROTOCOL, uvicorn_argv

TCP_INFO_DATA_SEGS_IN = 152  # offset of tcpi_data_segs_in in Linux's struct tcp_info (since 4.6)


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.aborted = self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0


async def test_writes_of_one_turn_reach_the_socket_as_one_write_in_order() -> None:
    inner = RecordingTransport()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
    corked.write(b"")
    corked.writelines([b"data: 1\n\n", bytearray(b"data: 2\n\n")])
    assert inner.writes == []  # nothing until the turn ends
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\ndata: 1\n\ndata: 2\n\n"]
    corked.write(b"data: [DONE]\n\n")
    await asyncio.sleep(0)
    assert inner.writes[1:] == [b"data: [DONE]\n\n"]  # a later turn: a write of its own


async def test_close_sends_what_is_queued_first_and_abort_drops_it() -> None:
    inner = RecordingTransport()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.write(b"last words")
    corked.close()
    assert inner.writes == [b"last words"] and inner.closing
    await asyncio.sleep(0)
    assert inner.writes == [b"last words"]  # the scheduled flush finds nothing more

    inner = RecordingTransport()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.write(b"never sent")
    corked.abort()
    await asyncio.sleep(0)
    assert inner.writes == [] and inner.aborted


async def test_a_connection_already_going_away_gets_nothing_more() -> None:
    inner = RecordingTransport()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.write(b"too late")
    inner.closing = True  # e.g. the peer reset the connection
    await asyncio.sleep(0)
    assert inner.writes == []
    assert corked.get_write_buffer_size() == 0


def test_serve_runs_uvicorn_with_the_corked_protocol() -> None:
    argv = uvicorn_argv(host="127.0.0.1", port=8000, workers=1)
    assert argv[argv.index("--http") + 1] == HTTP_PROTOCOL


def data_segments_received(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int(struct.unpack_from("I", info, TCP_INFO_DATA_SEGS_IN)[0])


@pytest.mark.usefixtures("example_models")
def test_an_answer_reaches_the_client_in_one_segment(gateway: Any) -> None:
    """Head and body in one write: one data segment on the client's socket (uvicorn alone sends two)."""
    from tests.conftest import MASTER_KEY

    body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    for path, payload in (("/health/liveliness", None), ("/v1/chat/completions", body)):
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
            if payload is None:
                sock.sendall(f"GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
            else:
                sock.sendall(f"POST {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json"
                             f"\r\nauthorization: Bearer {MASTER_KEY}\r\ncontent-length: {len(payload)}\r\n\r\n".encode()
                             + payload)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            assert received.startswith(b"HTTP/1.1 200"), received[:200]
            assert data_segments_received(sock) == 1, path
