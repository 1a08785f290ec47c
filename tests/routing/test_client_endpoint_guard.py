"""A client's own api_base: only for a key with the permission, only with its own api_key, only to public hosts."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apps.core.errors import InvalidRequest
from apps.providers.base import Target
from apps.core.addresses import is_public
from apps.routing.client_endpoint import check_address, checked_endpoint, client_target
from apps.routing.parsing import CallOptions
from apps.teams.auth import MASTER, Principal
from apps.teams.snapshot import KeyRecord

PUBLIC = "93.184.215.14"


def key(*, allowed: bool) -> Principal:
    record = KeyRecord(id=1, token_hash="h", key_alias="", user_id=None, team_id=None, organization_id=None,
                       models=(), team_models=(), blocked=False, expires_at=None, metadata={},
                       client_endpoints=allowed)
    return Principal(is_master=False, key=record)


def resolver(*addresses: str) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)
    return resolve


def options(api_base: str = "https://models.example.com/v1", api_key: str | None = "sk-client") -> CallOptions:
    return CallOptions(api_base=api_base, api_key=api_key, endpoint_field="api_base")


@pytest.mark.parametrize("address", [
    pytest.param("127.0.0.1", id="loopback_case"), pytest.param("10.1.2.3", id="rfc1918_10_case"),
    pytest.param("172.16.0.9", id="rfc1918_172_case"), pytest.param("192.168.1.1", id="rfc1918_192_case"),
    pytest.param("169.254.169.254", id="metadata_case"), pytest.param("100.64.0.1", id="shared_case"),
    pytest.param("0.0.0.0", id="unspecified_case"), pytest.param("::1", id="ipv6_loopback_case"),
    pytest.param("fd00::1", id="unique_local_case"), pytest.param("fe80::1%eth0", id="ipv6_link_local_case"),
    pytest.param("::ffff:127.0.0.1", id="mapped_loopback_case"), pytest.param("224.0.0.1", id="multicast_case"),
])
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", [PUBLIC, "2606:4700::1111", "::ffff:93.184.215.14"])
def test_global_addresses_are_public(address: str) -> None:
    assert is_public(address)


def test_a_host_resolving_to_any_internal_address_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(check_address(options(), resolve=resolver(PUBLIC, "10.0.0.5")))
    assert (caught.value.param, caught.value.error_code) == ("api_base", "client_endpoint_not_allowed")
    assert "internal address" in caught.value.message


def test_a_host_that_does_not_resolve_is_refused() -> None:
    async def fails(host: str, port: int) -> list[str]:
        raise OSError("no such host")
    with pytest.raises(InvalidRequest, match="does not resolve"):
        asyncio.run(check_address(options(), resolve=fails))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x", "https://", "not a url"])
def test_only_http_urls_are_taken(url: str) -> None:
    with pytest.raises(InvalidRequest, match="http or https"):
        asyncio.run(check_address(options(url), resolve=resolver(PUBLIC)))


def test_the_internal_setting_lets_private_hosts_through() -> None:
    asyncio.run(check_address(options("http://127.0.0.1:9/v1"), resolve=resolver("127.0.0.1"), internal=True))


@pytest.mark.parametrize("principal", [pytest.param(MASTER, id="master_case"),
                                       pytest.param(key(allowed=False), id="key_without_permission_case")])
def test_without_the_permission_the_endpoint_is_refused(principal: Principal) -> None:
    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(checked_endpoint(principal, options(), resolve=resolver(PUBLIC)))
    assert "api_base is not allowed in request body" in caught.value.message


def test_the_permission_needs_the_clients_own_key(settings: Any) -> None:
    settings.TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL = False
    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(checked_endpoint(key(allowed=True), options(api_key=None), resolve=resolver(PUBLIC)))
    assert caught.value.param == "api_key"


def test_with_the_permission_a_public_endpoint_is_used_with_only_the_clients_key(settings: Any) -> None:
    settings.TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL = False
    checked = asyncio.run(checked_endpoint(key(allowed=True), options(), resolve=resolver(PUBLIC)))
    deployment = Target(provider="openai", model="gpt-4o", api_base="https://api.openai.com/v1", api_key="sk-deploy",
                        headers={"x-secret": "s"}, extra={"aws_secret_access_key": "s"})
    target = client_target(deployment, checked)
    assert (target.api_base, target.api_key, dict(target.headers), dict(target.extra)) == (
        "https://models.example.com/v1", "sk-client", {}, {})
    assert target.model == "gpt-4o"


def test_an_unchecked_endpoint_never_becomes_a_target() -> None:
    with pytest.raises(InvalidRequest, match="not allowed"):
        client_target(Target(provider="openai", model="m"), options())


def test_with_the_permission_an_internal_endpoint_is_refused(settings: Any) -> None:
    settings.TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL = False
    with pytest.raises(InvalidRequest, match="internal address"):
        asyncio.run(checked_endpoint(key(allowed=True), options("http://metadata.internal/v1"),
                                     resolve=resolver("169.254.169.254")))


def test_a_name_that_resolves_elsewhere_when_reached_reaches_nothing_internal(settings: Any) -> None:
    """DNS rebinding: the check saw a public address, the connection's own lookup gives loopback."""
    from apps.providers import h1pool, transport
    from apps.providers.base import ChatCall, UpstreamError
    from apps.providers.registry import adapter_for

    settings.TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL = False
    connections: list[int] = []

    async def scenario() -> UpstreamError:
        async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            writer.close()

        server = await asyncio.start_server(counted, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            base = f"http://127.0.0.1:{port}/v1"
            checked = await checked_endpoint(key(allowed=True), options(base), resolve=resolver(PUBLIC))
            target = client_target(Target(provider="openai", model="gpt-4o", timeout=5), checked)
            assert target.public_only
            try:
                await transport.send_chat(adapter_for("openai"), ChatCall(model="gpt-4o", messages=[
                    {"role": "user", "content": "hi"}]), target)
            except UpstreamError as error:
                return error
            finally:
                h1pool.close_pool()
        raise AssertionError("the call went through")

    error = asyncio.run(scenario())
    assert connections == []
    assert (error.status, error.param, error.error_code) == (400, "api_base", "client_endpoint_not_allowed")
    assert error.payload()["error"]["type"] == "invalid_request_error"


def test_with_the_internal_setting_the_target_may_reach_any_address(settings: Any) -> None:
    settings.TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL = True
    checked = asyncio.run(checked_endpoint(key(allowed=True), options("http://127.0.0.1:9/v1"),
                                           resolve=resolver("127.0.0.1")))
    assert not client_target(Target(provider="openai", model="m"), checked).public_only
