"""Which IP addresses a request someone outside chose (a call's own api_base, a push URL) may reach: global
unicast only. Loopback, link-local (169.254/16, cloud metadata), private (RFC 1918), shared (100.64/10),
unique-local (fc00::/7), multicast and the rest are not; an IPv4 address mapped into IPv6 is judged as the IPv4
one."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: str) -> bool:
    """A global unicast address (an IPv4-mapped IPv6 address judged as its IPv4 address; a zone id ignored)."""
    ip: Any = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast
