"""The pure parts of the login protections: the throttle, the client address behind trusted proxies, and the
short memory of credentials that matched nobody."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.gateway.identity.addresses import client_address, parse_networks
from headwater.gateway.identity.authentication import Authentication, PrincipalCache
from headwater.gateway.identity.logins import throttle_delay
from headwater.gateway.settings import Settings


def test_the_throttle_starts_at_half_the_limit_and_doubles_up_to_its_cap() -> None:
    assert [throttle_delay(n, 6, 5.0) for n in range(9)] == [0, 0, 0, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0]


def scope(peer: str, *forwarded: str) -> dict[str, Any]:
    return {"client": (peer, 4711), "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_sends() -> None:
    assert client_address(scope("203.0.113.9", "1.2.3.4"), ()) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() -> None:
    trusted = parse_networks("10.0.0.0/8, 192.168.1.1")
    # the client forged the first entry; the ingress (10.1.2.3) appended the address it really saw
    assert client_address(scope("10.1.2.3", "6.6.6.6, 198.51.100.4"), trusted) == "198.51.100.4"
    assert (
        client_address(scope("10.1.2.3", "6.6.6.6", "198.51.100.4, 192.168.1.1"), trusted) == "198.51.100.4"
    )
    assert client_address(scope("10.1.2.3"), trusted) == "10.1.2.3"  # no header: the proxy itself
    assert client_address(scope("203.0.113.9", "6.6.6.6"), trusted) == "203.0.113.9"  # not via a proxy


def test_trusted_proxies_must_be_addresses_or_ranges() -> None:
    with pytest.raises(ValueError, match="'ingress' is not an IP address or CIDR range"):
        parse_networks("10.0.0.0/8, ingress")


class CountingStore:
    def __init__(self) -> None:
        self.lookups = 0

    async def user_of_api_token(self, token_hash: bytes) -> None:
        self.lookups += 1


async def test_a_made_up_token_is_looked_up_once_per_miss_window() -> None:
    store = CountingStore()
    auth = Authentication(store, Settings(signing_key="k" * 40), PrincipalCache(ttl=5.0))  # type: ignore[arg-type]
    for _ in range(50):
        assert await auth.authenticate("hw_made_up", None) is None
    assert store.lookups == 1
