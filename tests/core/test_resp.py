"""The multiplexed Redis client under RedisState: ordering, batching, errors, scripts, lost connections, auth."""
from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from redis.exceptions import AuthenticationError, NoScriptError, ResponseError

from apps.core.state import resp
from apps.core.state.resp import Client, Connection, RedisUnreachable, ReplyTimeout, Script, Timeouts, parse_url

URL = settings.REDIS_URL or ""
needs_redis = pytest.mark.skipif(not URL, reason="talks to the Redis of REDIS_URL")
ECHO_KEYS = Script.of("return KEYS[1] .. ARGV[1]")


@pytest.fixture
def sync() -> Iterator[redis.Redis]:
    with redis.Redis.from_url(URL) as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    made = Client(parse_url(URL))
    yield made
    made.close()


@pytest.fixture
def key() -> Iterator[str]:
    name = f"test:resp:{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(URL).delete(name)


async def connection(client: Client) -> Connection:
    await client.execute("PING")
    assert client.connection is not None
    return client.connection


async def until_blocked(client_id: int) -> None:
    """Wait (round trips on another connection, no sleeps) until the client is blocked in BLPOP."""
    with_other = Client(parse_url(URL))
    try:
        while b"cmd=blpop" not in await with_other.execute("CLIENT", "LIST", "ID", client_id):
            pass
    finally:
        with_other.close()


@pytest.mark.parametrize(("url", "expected"), [
    pytest.param("redis://cache:6380/3", resp.Address(host="cache", port=6380, db=3), id="host_port_db_case"),
    pytest.param("redis://localhost", resp.Address(), id="defaults_case"),
    pytest.param("redis://:s%40cret@h/2", resp.Address(host="h", password="s@cret", db=2), id="password_only_case"),
    pytest.param("redis://app:pw@h:1?db=5", resp.Address(host="h", port=1, username="app", password="pw", db=5),
                 id="user_and_query_db_case"),
    pytest.param("unix:///run/redis.sock?db=4&password=pw", resp.Address(path="/run/redis.sock", password="pw", db=4),
                 id="unix_socket_case"),
])
def test_url_gives_the_address(url: str, expected: resp.Address) -> None:
    assert parse_url(url) == expected


def test_greeting_authenticates_then_selects() -> None:
    assert parse_url("redis://:pw@h/2").greeting() == [("AUTH", "pw"), ("SELECT", 2)]
    assert parse_url("redis://app:pw@h/0").greeting() == [("AUTH", "app", "pw")]
    assert parse_url("redis://h/0").greeting() == []


def test_rediss_verifies_certificates_unless_told_not_to() -> None:
    import ssl

    verified = parse_url("rediss://h:6380/0").tls
    unverified = parse_url("rediss://h:6380/0?ssl_cert_reqs=none").tls
    assert verified is not None and verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    assert unverified is not None and unverified.verify_mode == ssl.CERT_NONE
    assert parse_url("redis://h/0").tls is None


@needs_redis
async def test_a_thousand_concurrent_commands_get_their_own_replies(client: Client, key: str) -> None:
    replies = await asyncio.gather(*[client.execute("ECHO", f"reply {i}") if i % 3 else client.execute("INCR", key)
                                     for i in range(1000)])
    assert replies == [(i // 3 + 1) if i % 3 == 0 else f"reply {i}".encode() for i in range(1000)]


@needs_redis
async def test_commands_of_one_loop_turn_share_one_write(client: Client) -> None:
    conn = await connection(client)
    assert conn.transport is not None
    writes: list[int] = []
    write = conn.transport.write

    def counted(data: bytes | bytearray | memoryview) -> None:
        writes.append(len(data))
        write(data)

    conn.transport.write = counted  # type: ignore[method-assign]
    assert await asyncio.gather(*[client.execute("ECHO", str(i)) for i in range(100)]) == [
        str(i).encode() for i in range(100)]
    assert len(writes) == 1


@needs_redis
async def test_a_pipeline_returns_an_error_in_its_place_and_runs_the_rest(client: Client, key: str) -> None:
    replies = await client.pipeline([("SET", key, "text"), ("INCR", key), ("APPEND", key, "!"), ("GET", key)])
    assert replies[0] == b"OK" and replies[2:] == [5, b"text!"]
    assert isinstance(replies[1], ResponseError) and "not an integer" in str(replies[1])
    assert await client.pipeline([("GET", key)]) == [b"text!"]
    assert await client.pipeline([]) == []


@needs_redis
async def test_an_error_reply_raises_and_the_connection_stays_in_step(client: Client, key: str) -> None:
    await client.execute("SET", key, "text")
    with pytest.raises(ResponseError, match="not an integer"):
        await client.execute("INCR", key)
    with pytest.raises(ResponseError, match="unknown command"):
        await client.execute("NO-SUCH-COMMAND")
    with pytest.raises(NoScriptError):
        await client.execute("EVALSHA", "0" * 40, 0)
    assert await client.execute("GET", key) == b"text"


@needs_redis
async def test_a_script_redis_forgot_is_sent_again(client: Client, sync: redis.Redis) -> None:
    sync.script_flush()
    assert await client.script(ECHO_KEYS, ["a"], ["b"]) == b"ab"
    assert sync.script_exists(ECHO_KEYS.sha) == [True]  # EVAL cached it: the next call is an EVALSHA
    assert await client.script(ECHO_KEYS, ["c"], ["d"]) == b"cd"


@needs_redis
async def test_a_killed_connection_fails_its_waiting_commands_and_the_next_one_reconnects(
        client: Client, key: str, sync: redis.Redis) -> None:
    client_id = await client.execute("CLIENT", "ID")
    blocked = asyncio.ensure_future(client.execute("BLPOP", key, 30))
    queued = asyncio.ensure_future(client.execute("GET", key))  # behind the BLPOP on the same connection
    await until_blocked(client_id)
    assert sync.client_kill_filter(_id=client_id) == 1
    for waiting in (blocked, queued):
        with pytest.raises(RedisUnreachable) as failure:
            await waiting
        # The same error contract as redis-py's: callers that catch its ConnectionError (or OSError) still do.
        assert isinstance(failure.value, redis.exceptions.ConnectionError) and isinstance(failure.value, OSError)
    assert await client.execute("SET", key, "after") == b"OK"
    assert await client.execute("CLIENT", "ID") != client_id


@needs_redis
async def test_a_cancelled_caller_does_not_shift_the_replies(client: Client, key: str, sync: redis.Redis) -> None:
    client_id = await client.execute("CLIENT", "ID")
    blocked = asyncio.ensure_future(client.execute("BLPOP", key, 30))
    await until_blocked(client_id)
    after = [asyncio.ensure_future(client.execute("ECHO", str(i))) for i in range(10)]
    blocked.cancel()
    for cancelled in after[::2]:
        cancelled.cancel()
    sync.rpush(key, "for the cancelled BLPOP")
    assert [await waiting for waiting in after[1::2]] == [str(i).encode() for i in range(1, 10, 2)]
    assert await client.execute("ECHO", "next") == b"next"


@needs_redis
async def test_a_megabyte_reply_split_across_reads_arrives_whole(client: Client, key: str) -> None:
    value = uuid.uuid4().bytes * 65536  # 1 MiB
    await client.execute("SET", key, value)
    conn = await connection(client)
    reads = conn.received
    replies = await asyncio.gather(client.execute("GET", key), client.execute("ECHO", "after"))
    assert replies == [value, b"after"]
    assert conn.received - reads > 1


@needs_redis
async def test_user_password_and_database_come_from_the_url(sync: redis.Redis, key: str) -> None:
    user, password = f"tollgate-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    sync.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"])
    host = sync.connection_pool.connection_kwargs.get("host", "127.0.0.1")
    port = sync.connection_pool.connection_kwargs.get("port", 6379)
    db = (sync.connection_pool.connection_kwargs.get("db", 0) + 1) % 16
    other = redis.Redis(host=host, port=port, db=db)
    authed = Client(parse_url(f"redis://{user}:{password}@{host}:{port}/{db}"))
    wrong = Client(parse_url(f"redis://{user}:not-{password}@{host}:{port}/{db}"))
    try:
        assert await authed.execute("ACL", "WHOAMI") == user.encode()
        await authed.execute("SET", key, "in the URL's database")
        assert other.get(key) == b"in the URL's database" and sync.get(key) is None
        with pytest.raises(AuthenticationError):
            await wrong.execute("PING")
    finally:
        authed.close()
        wrong.close()
        other.delete(key)
        other.close()
        sync.acl_deluser(user)


async def test_an_unreachable_server_raises_a_connection_error() -> None:
    client = Client(parse_url("redis://127.0.0.1:1/0"))
    with pytest.raises(RedisUnreachable, match="cannot connect to Redis at 127.0.0.1:1"):
        await client.execute("PING")


async def silent_server() -> tuple[asyncio.Server, int]:
    """A server that reads everything and never answers."""
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_server_that_stops_answering_fails_the_waiting_commands() -> None:
    server, port = await silent_server()
    async with server:
        client = Client(parse_url(f"redis://127.0.0.1:{port}/0"), timeouts=Timeouts(reply=0.05))
        results = await asyncio.gather(client.execute("PING"), client.execute("PING"), return_exceptions=True)
        assert [type(result) for result in results] == [ReplyTimeout, ReplyTimeout]
        assert isinstance(results[0], redis.exceptions.TimeoutError) and isinstance(results[0], RedisUnreachable)
        client.close()


async def test_a_greeting_without_answer_fails_the_connect() -> None:
    server, port = await silent_server()
    async with server:
        client = Client(parse_url(f"redis://:pw@127.0.0.1:{port}/0"), timeouts=Timeouts(connect=0.05))
        with pytest.raises(RedisUnreachable, match="TimeoutError"):
            await client.execute("PING")
        assert client.connection is None


INCR = Script.of("return redis.call('INCR', KEYS[1])")


def idle_for_a_minute(conn: Connection) -> None:
    """As if Redis had last been heard a minute ago: past the default 30 s health-check interval."""
    conn.last_heard -= 60


@needs_redis
async def test_a_connection_killed_while_idle_is_replaced_before_the_next_command(
        client: Client, key: str, sync: redis.Redis) -> None:
    client_id = await client.execute("CLIENT", "ID")
    idle_for_a_minute(await connection(client))
    assert sync.client_kill_filter(_id=client_id) == 1
    assert await asyncio.gather(*[client.execute("INCR", key) for _ in range(10)]) == list(range(1, 11))
    assert await client.execute("CLIENT", "ID") != client_id


@needs_redis
async def test_an_idle_connection_that_answers_its_ping_is_kept(client: Client) -> None:
    client_id = await client.execute("CLIENT", "ID")
    conn = await connection(client)
    idle_for_a_minute(conn)
    assert await client.execute("CLIENT", "ID") == client_id and client.connection is conn


@needs_redis
async def test_without_health_checks_a_connection_killed_while_idle_fails_the_next_command(sync: redis.Redis) -> None:
    client = Client(parse_url(URL), timeouts=Timeouts(health_check=0))
    try:
        client_id = await client.execute("CLIENT", "ID")
        idle_for_a_minute(await connection(client))
        assert sync.client_kill_filter(_id=client_id) == 1
        with pytest.raises(RedisUnreachable):
            await client.execute("PING")
    finally:
        client.close()


@needs_redis
@pytest.mark.parametrize("idle", [pytest.param(False, id="busy_case"), pytest.param(True, id="after_health_check_case")])
async def test_a_script_in_flight_when_the_connection_dies_runs_once_and_fails(
        client: Client, key: str, sync: redis.Redis, idle: bool) -> None:
    sync.script_load(INCR.text)
    conn = await connection(client)
    assert conn.transport is not None
    write = conn.transport.write

    def write_then_lose_the_reply(data: bytes | bytearray | memoryview) -> None:
        write(data)
        if b"EVALSHA" in bytes(data):
            while sync.get(key) is None:  # Redis ran it; this loop is blocked, so the reply stays unread
                pass
            conn.abort(RedisUnreachable("the network dropped the connection"))

    conn.transport.write = write_then_lose_the_reply  # type: ignore[method-assign]
    if idle:
        idle_for_a_minute(conn)
    with pytest.raises(RedisUnreachable, match="the network dropped the connection"):
        await client.script(INCR, [key], [])
    assert await client.execute("GET", key) == b"1"  # on a new connection: the script was not sent again


@needs_redis
async def test_tcp_keepalive_probes_an_idle_connection(client: Client) -> None:

    conn = await connection(client)
    assert conn.transport is not None
    sock = conn.transport.get_extra_info("socket")
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == resp.KEEPALIVE_IDLE


async def test_redis_state_clients_take_their_timeouts_from_settings(settings: Any) -> None:
    from apps.core.state.redis import RedisState

    settings.TOLLGATE_REDIS_CONNECT_TIMEOUT, settings.TOLLGATE_REDIS_COMMAND_TIMEOUT = 2.5, 4.0
    settings.TOLLGATE_REDIS_HEALTH_CHECK_INTERVAL = 0.0
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert RedisState().client.timeouts == Timeouts(connect=2.5, reply=4.0, health_check=0.0)


def test_the_sync_client_has_the_same_clocks_and_gives_up_on_a_silent_server(settings: Any) -> None:
    """The spend flush and admin saves use redis-py: a Redis that stops answering fails them, never hangs them."""
    import threading

    from apps.core.state.redis import RedisState

    with socket.create_server(("127.0.0.1", 0)) as silent:  # connects (the kernel's backlog), never answers
        settings.TOLLGATE_REDIS_CONNECT_TIMEOUT, settings.TOLLGATE_REDIS_COMMAND_TIMEOUT = 0.5, 0.2
        settings.TOLLGATE_REDIS_HEALTH_CHECK_INTERVAL = 7.0
        settings.REDIS_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        sync = RedisState().sync
        kwargs = sync.connection_pool.connection_kwargs
        assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (0.5, 0.2)
        assert kwargs["socket_keepalive"] is True and kwargs["health_check_interval"] == 7

        outcome: list[BaseException] = []

        def ping() -> None:
            try:
                sync.ping()
            except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
                outcome.append(exc)

        worker = threading.Thread(target=ping, daemon=True)
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive(), "a silent Redis hung the sync client"
        assert len(outcome) == 1 and isinstance(outcome[0], redis.exceptions.TimeoutError)
