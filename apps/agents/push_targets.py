"""Where a push notification may go: a caller-supplied URL is a request the gateway makes on its behalf from
inside the network (every replica and Celery beat, with retries), so addresses that are not public (loopback,
link-local such as 169.254.169.254, RFC 1918, unique-local, CGNAT, unspecified, multicast) are refused unless
TOLLGATE_A2A_PUSH_ALLOW_INTERNAL is on. A literal address is checked when the config is given, a host name when
the delivery is sent (what it resolves to then)."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.addresses import is_public, resolve_host

LOCAL_NAMES = ("localhost", "localhost.localdomain")


def internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An address that is not on the public internet (as a call's own api_base is judged)."""
    return not is_public(str(address))


def literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refused_host(url: str) -> str | None:
    """Why `url` may not be pushed to, judged from the URL alone (None: fine, or a name to resolve when sent)."""
    if settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL:
        return None
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return "it names no host"
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return f"{host} is this machine"
    address = literal(host)
    if address is not None and internal(address):
        return f"{address} is not a public address"
    return None


async def refused_target(url: str) -> str | None:
    """Why `url` may not be pushed to now: `refused_host`, or its host resolving to an address that is not public."""
    reason = refused_host(url)
    if reason is not None or settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL:
        return reason
    parts = urlsplit(url)
    host = parts.hostname or ""
    if literal(host) is not None:
        return None
    for found in await resolve(host, parts.port or 443):
        address = literal(found.split("%")[0])
        if address is not None and internal(address):
            return f"{host} resolves to {address}, which is not a public address"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to ([] when it does not: the POST then fails and is retried like a dead URL)."""
    try:
        return await resolve_host(host, port)
    except (OSError, ValueError):
        return []
