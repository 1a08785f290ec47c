"""A call that names its own endpoint (`api_base` / `base_url` in the body): allowed only for a key with the
`allow_client_side_credentials` permission, only with the client's own `api_key` (the deployment's credentials
never go to an address a client chose), and only to public addresses (no SSRF into the gateway's network).

The host is resolved here and every address it resolves to must be public (`apps.core.addresses`), so the call is
refused with a 400 before anything is sent; the connection is then made to an address resolved and checked again
as it is made (`h1pool.connect`, the target's `public_only`), so a name that DNS answers differently the second
time (rebinding) reaches nothing internal either. `TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL` lifts both for
installs whose clients call models on their own network.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.addresses import is_public, resolve_host
from apps.core.errors import InvalidRequest
from apps.providers.base import Target
from apps.routing.parsing import CallOptions, endpoint_refused
from apps.teams.auth import Principal

Resolve = Callable[[str, int], Awaitable[list[str]]]


def refused(options: CallOptions, why: str) -> InvalidRequest:
    return InvalidRequest(f"Rejected Request: {options.endpoint_field} {why}", param=options.endpoint_field,
                          code="client_endpoint_not_allowed")


async def check_address(options: CallOptions, *, resolve: Resolve = resolve_host, internal: bool = False) -> None:
    """The endpoint is an http(s) URL whose host resolves, to public addresses only unless `internal`."""
    url = urlsplit(str(options.api_base))
    if url.scheme not in ("http", "https") or not url.hostname:
        raise refused(options, "must be an http or https URL.")
    if internal:
        return
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await resolve(url.hostname, port)
    except (OSError, ValueError):
        raise refused(options, "names a host that does not resolve.") from None
    if not addresses or not all(is_public(address) for address in addresses):
        raise refused(options, "resolves to an internal address (loopback, link-local, private or unique-local); "
                               "only public endpoints may be named by a call.")


async def checked_endpoint(principal: Principal, options: CallOptions, *, resolve: Resolve = resolve_host) -> CallOptions:
    """The options with a client's endpoint allowed, or a 400 saying why not (no endpoint: as they are)."""
    if options.api_base is None:
        return options
    key = principal.key
    if key is None or not key.client_endpoints:
        raise endpoint_refused(options.endpoint_field)
    if not options.api_key:
        raise InvalidRequest(f"Rejected Request: a call that names its own {options.endpoint_field} must send its "
                             "own api_key too; the deployment's credentials are not sent to it.", param="api_key",
                             code="client_endpoint_not_allowed")
    await check_address(options, resolve=resolve, internal=settings.TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL)
    return replace(options, endpoint_checked=True)


def client_target(target: Target, options: CallOptions) -> Target:
    """The deployment's target pointed at the client's endpoint with the client's key, none of the deployment's
    credentials (headers, extra provider params) left in it."""
    if not options.endpoint_checked:
        raise endpoint_refused(options.endpoint_field)
    return replace(target, api_base=options.api_base, api_key=options.api_key, headers={}, extra={},
                   public_only=not settings.TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL)
