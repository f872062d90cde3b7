"""Where webhooks may post (security L9): never to loopback, link-local (cloud metadata at 169.254.169.254
lives there), unspecified or multicast addresses unless config allows the network. Checked on the
addresses a name resolves to at delivery time, so a DNS name cannot smuggle such an address in."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_METADATA = (ipaddress.ip_network("fd00:ec2::254/128"),)


class DestinationRefused(OSError):
    pass


def refused(address: str, allowed: tuple[Network, ...]) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed):
        return False
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or any(ip in net for net in _METADATA)
    )


def parse_networks(values: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


class PolicyResolver(AbstractResolver):
    """The default resolver, minus the addresses the policy refuses (none left: the connect fails)."""

    def __init__(self, allowed: tuple[Network, ...]) -> None:
        self._inner = DefaultResolver()
        self._allowed = allowed

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept = [r for r in results if not refused(r["host"], self._allowed)]
        if not kept:
            raise DestinationRefused(f"destination {host} is not allowed (loopback, link-local or metadata)")
        return kept

    async def close(self) -> None:
        await self._inner.close()
