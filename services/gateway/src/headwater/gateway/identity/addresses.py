"""The client's address as the gateway believes it: the connection's peer, or, when the peer is a trusted proxy
(`HEADWATER_GATEWAY_TRUSTED_PROXIES`), the nearest address in `X-Forwarded-For` that is not one.

Login limits and the audit log key on this address, so behind an ingress they see the real clients instead of
the ingress; a client that is not behind a trusted proxy cannot choose its address by sending the header.
"""

from __future__ import annotations

import ipaddress
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR ranges; ValueError names the one that is neither."""
    networks: list[Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP address or CIDR range") from exc
    return tuple(networks)


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(scope: Any, trusted: tuple[Network, ...]) -> str:
    """The address of whoever sent the request (an ASGI scope), at most 64 characters."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if not trusted or not _is_trusted(peer, trusted):
        return peer[:64]
    hops = [
        hop.strip()
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
        if hop.strip()
    ]
    # Each proxy appends the address it saw: walk back from the nearest until one is not a trusted proxy.
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop[:64]
    return (hops[0] if hops else peer)[:64]
