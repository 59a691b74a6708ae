"""Where notifications may go: public addresses only, unless an operator allow-lists a host or a range.

A channel's URL is whatever its editor typed, and the notifier runs inside the network: without a check, a
webhook to `http://127.0.0.1:8082/...`, a cluster address or the cloud metadata service (169.254.169.254,
fd00:ec2::254) would let anyone who may edit channels make the service call its own neighbours. The check runs
when the connection is made, on the addresses it connects to (a name is resolved once and its checked
addresses are what aiohttp connects to, so a DNS answer that changes between a check and the connection
cannot slip through); the request keeps the URL's host name for the Host header and TLS (SNI, certificate).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Final

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from prometheus_client import Counter

from headwater.common.logging import get_logger

log = get_logger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED = Counter(
    "headwater_notification_destinations_refused_total",
    "Notification requests not sent because their URL's host is not a public address, by the kind of address",
    ["range"],
)

ALLOW_SETTING: Final = "HEADWATER_QUALITY_ALERTING_WEBHOOK_ALLOW"


class RefusedDestination(OSError):
    """The URL's host is, or resolves only to, addresses notifications may not reach."""


def address_range(ip: IPAddress) -> str | None:
    """What kind of non-public address `ip` is (`loopback`, `private`, ...), None for a public one. An
    IPv4-mapped IPv6 address is judged as the IPv4 address it maps."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:  # 169.254.0.0/16 (the metadata service among them), fe80::/10
        return "link_local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _UNIQUE_LOCAL:  # fd00:ec2::254 among them
        return "unique_local"
    if ip.is_private or not ip.is_global:  # RFC 1918, CGNAT 100.64/10, documentation, reserved ranges
        return "private"
    return None


_UNIQUE_LOCAL: Final = ipaddress.IPv6Network("fc00::/7")


@dataclass(frozen=True)
class Destinations:
    """The operator's exceptions to "public addresses only": host names (exactly, case-insensitive) and
    addresses or CIDR ranges, from `HEADWATER_QUALITY_ALERTING_WEBHOOK_ALLOW` (comma-separated)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Destinations:
        """ValueError names an entry that is neither a host name nor an address or range."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                if "/" in item or not all(c.isalnum() or c in "-._" for c in item):
                    raise ValueError(f"{item!r} is not a host name, an IP address or a CIDR range") from None
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def check(self, host: str, ip: IPAddress) -> str | None:
        """Why a connection to `ip` for the URL host `host` is refused (the kind of address), None if allowed."""
        kind = address_range(ip)
        if kind is None or host.lower().rstrip(".") in self.hosts or any(ip in n for n in self.networks):
            return None
        return kind

    def refuse(self, host: str, refused: dict[str, str]) -> RefusedDestination:
        """The error for `host` whose every address was refused (address: kind), counted and logged."""
        for kind in set(refused.values()):
            REFUSED.labels(kind).inc()
        log.warning("notification_destination_refused", host=host, addresses=refused)
        listed = ", ".join(f"{a} ({k})" for a, k in refused.items())
        return RefusedDestination(
            f"destination refused: {host} is {listed}, not a public address; an operator may allow it with "
            f"{ALLOW_SETTING}"
        )

    def check_literal(self, host: str) -> None:
        """Raise RefusedDestination when `host` is an IP address that is refused (aiohttp connects to a literal
        address without resolving it, so the resolver never sees it); names are checked by the resolver."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return
        if kind := self.check(host, ip):
            raise self.refuse(host, {str(ip): kind})


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses `destinations` allows: the connection is made to one of
    them or, when none is left, not at all (RefusedDestination, which aiohttp reports as a connector error)."""

    def __init__(self, destinations: Destinations) -> None:
        self._destinations = destinations
        self._resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._resolver.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        refused: dict[str, str] = {}
        for answer in answers:
            kind = self._destinations.check(host, ipaddress.ip_address(answer["host"]))
            if kind is None:
                allowed.append(answer)
            else:
                refused[answer["host"]] = kind
        if not allowed:
            raise self._destinations.refuse(host, refused)
        return allowed

    async def close(self) -> None:
        await self._resolver.close()
