"""The lean HTTP/1.1 client under transport.py: keep-alive reuse, stale connections, framing, TLS, cancellation."""
from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apps.providers import h1pool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(autouse=True)
async def fresh_pool() -> AsyncIterator[None]:
    yield
    h1pool.close_pool()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


def answer(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), b"".join(extra), body)


async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> tuple[asyncio.Server, str, list[int]]:
    """A server counting its connections; the URL of its /v1/x."""
    connections: list[int] = []

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(counted, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if tls else "http"
    return server, f"{scheme}://{'localhost' if tls else '127.0.0.1'}:{port}/v1/x?k=1", connections


async def call(url: str, body: bytes = b"{}") -> tuple[int, bytes]:
    response = await h1pool.request("POST", url, {"content-type": "application/json"}, body,
                                    connect_timeout=5, read_timeout=None)
    return response.status_code, await response.read()


async def echo_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        request = await read_request(reader)
        writer.write(answer(request.rsplit(b"\r\n\r\n", 1)[1]))
        await writer.drain()


async def test_sequential_calls_share_one_kept_alive_connection() -> None:
    server, url, connections = await serve(echo_forever)
    async with server:
        assert [await call(url, b'{"n": %d}' % i) for i in range(5)] == [(200, b'{"n": %d}' % i) for i in range(5)]
    assert len(connections) == 1


async def test_a_pooled_connection_the_upstream_closed_is_replaced_without_an_error() -> None:
    async def one_answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"ok"))  # keep-alive promised, then the server hangs up (idle timeout)
        await writer.drain()

    server, url, connections = await serve(one_answer_then_close)
    async with server:
        assert await call(url) == (200, b"ok")
        assert await call(url) == (200, b"ok")
    assert len(connections) == 2


async def test_chunked_and_close_delimited_bodies() -> None:
    async def chunked_then_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n")
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
        await writer.drain()

    server, url, _ = await serve(chunked_then_eof)
    async with server:
        assert await call(url) == (200, b"abc")
        assert await call(url) == (200, b"until the end")


async def test_cancelling_a_call_hangs_up_at_once() -> None:
    hung_up = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # returns at EOF: the client hung up
        hung_up.set()

    server, url, _ = await serve(never_answer)
    async with server:
        task = asyncio.ensure_future(call(url))
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.wait_for(hung_up.wait(), 5)


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting only that server's certificate) for `localhost`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    return server, client


async def test_https_verifies_the_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    server, url, _ = await serve(echo_forever, tls=server_tls)
    async with server:
        with pytest.raises(ssl.SSLCertVerificationError):  # the default context does not trust it
            await call(url)
        monkeypatch.setattr(h1pool, "ssl_context", lambda: client_tls)
        assert await call(url, b"secret") == (200, b"secret")


async def test_the_pieces_of_a_chunked_body_that_arrived_together_come_out_as_one() -> None:
    async def three_chunks_in_one_write(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)  # the head first, then three chunks and the end in one segment
        writer.write(b"2\r\nab\r\n1\r\nc\r\n3\r\ndef\r\n0\r\n\r\n")
        await writer.drain()

    server, url, _ = await serve(three_chunks_in_one_write)
    async with server:
        response = await h1pool.request("POST", url, {}, b"{}", connect_timeout=5, read_timeout=None)
        assert [piece async for piece in response.aiter_raw()] == [b"abcdef"]


async def test_a_checked_request_reaches_only_addresses_its_check_passes() -> None:
    seen: list[str] = []

    def loopback_refused(address: str) -> bool:
        seen.append(address)
        return False

    server, url, connections = await serve(echo_forever)
    async with server:
        with pytest.raises(h1pool.RefusedAddress, match="127.0.0.1 resolves to an address"):
            await h1pool.request("POST", url, {}, b"{}", connect_timeout=5, read_timeout=None, check=loopback_refused)
        assert (seen, connections) == (["127.0.0.1"], [])  # judged as resolved, and nothing was reached
        response = await h1pool.request("POST", url, {}, b"ok", connect_timeout=5, read_timeout=None,
                                        check=lambda address: address == "127.0.0.1")
        assert (response.status_code, await response.read()) == (200, b"ok")


async def test_checked_and_unchecked_requests_never_share_a_connection() -> None:
    server, url, connections = await serve(echo_forever)

    async def checked_call() -> tuple[int, bytes]:
        response = await h1pool.request("POST", url, {}, b"c", connect_timeout=5, read_timeout=None,
                                        check=lambda address: True)
        return response.status_code, await response.read()

    async with server:
        assert await call(url, b"u") == (200, b"u")
        assert await checked_call() == (200, b"c")  # not the unchecked call's idle connection: a new one
        assert len(connections) == 2
        assert await checked_call() == (200, b"c")
        assert await call(url, b"u") == (200, b"u")
    assert len(connections) == 2  # each kind kept its own


async def test_a_checked_https_connection_goes_to_the_address_and_verifies_the_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    monkeypatch.setattr(h1pool, "ssl_context", lambda: client_tls)
    server, url, _ = await serve(echo_forever, tls=server_tls)  # https://localhost:port: ::1 (if listed) is refused
    async with server:
        response = await h1pool.request("POST", url, {}, b"tls", connect_timeout=5, read_timeout=None,
                                        check=lambda address: True)
        assert (response.status_code, await response.read()) == (200, b"tls")
