"""The gateway's identity use cases on the `gateway` schema, one part per concern (users, logins,
authentication, API tokens, projects, housekeeping) sharing one store and one principal cache. Every dialect's
routes call these parts."""

from __future__ import annotations

from typing import Any

from headwater.gateway.adapters.db.identity import IdentityStore
from headwater.gateway.identity.addresses import client_address, parse_networks
from headwater.gateway.identity.authentication import Authentication, PrincipalCache
from headwater.gateway.identity.housekeeping import Housekeeping
from headwater.gateway.identity.logins import Logins
from headwater.gateway.identity.projects import Projects
from headwater.gateway.identity.tokens import ApiTokens
from headwater.gateway.identity.users import Users
from headwater.gateway.settings import Settings


class Identity:
    def __init__(self, store: IdentityStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        # One cache for every part: a user change, a revoked token or a closed session forgets principals.
        self.cache = PrincipalCache(ttl=settings.principal_cache_seconds)
        self.users = Users(store, settings, self.cache)
        self.logins = Logins(store, settings, self.cache)
        self.authentication = Authentication(store, settings, self.cache)
        self.tokens = ApiTokens(store, settings, self.cache)
        self.projects = Projects(store, self.users)
        self.housekeeping = Housekeeping(store, settings)
        self.trusted_proxies = parse_networks(settings.trusted_proxies)

    def address_of(self, scope: Any) -> str:
        """The client's address of a request (its ASGI scope), through the trusted proxies."""
        return client_address(scope, self.trusted_proxies)
