"""The gateway's composition root: settings, logging, telemetry, the identity store and one upstream per
service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db import create_engine
from headwater.common.logging import configure_logging
from headwater.common.principal import PrincipalSigner
from headwater.common.settings import load_settings
from headwater.common.telemetry import configure_telemetry
from headwater.gateway import SCHEMA, SERVICE
from headwater.gateway.adapters.db.identity import IdentityStore
from headwater.gateway.identity.audit import AuditWriter
from headwater.gateway.identity.service import Identity
from headwater.gateway.settings import Settings
from headwater.gateway.upstream import Upstream


@dataclass
class Container:
    settings: Settings
    identity: Identity
    execution_tracking: Upstream
    quality_alerting: Upstream
    scheduler: Upstream
    ingestion: Upstream
    audit: AuditWriter
    engine: AsyncEngine | None = None
    _housekeeping: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    @property
    def upstreams(self) -> tuple[Upstream, ...]:
        return (self.execution_tracking, self.quality_alerting, self.scheduler, self.ingestion)

    async def database_ready(self) -> None:
        """Readiness: the gateway's own database answers. The services are not asked: one of them down must not
        take every gateway replica (and logins with it) out of the load balancer; its routes answer 503."""
        if self.engine is not None:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

    async def open(self) -> None:
        await self.audit.start()
        if self.engine is not None:
            self._housekeeping = asyncio.create_task(
                self.identity.housekeeping.keep_tidy(), name="identity-housekeeping"
            )

    async def close(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.audit.close()
        for upstream in self.upstreams:
            await upstream.close()
        if self.engine is not None:
            await self.engine.dispose()


def load(environ: Mapping[str, str] | None = None) -> Settings:
    return load_settings(Settings, SERVICE, environ)


def identity_for(settings: Settings) -> tuple[Identity, AsyncEngine]:
    engine = create_engine(
        settings.database_url, schema=SCHEMA, pool_size=settings.db_pool_size, timeouts=settings.db_timeouts
    )
    return Identity(IdentityStore(engine), settings), engine


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or load()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
    configure_telemetry(
        SERVICE, otlp_endpoint=settings.otel_exporter_otlp_endpoint, environment=settings.environment
    )

    signer = PrincipalSigner(settings.internal_signing_key)

    def upstream(name: str, url: str) -> Upstream:
        return Upstream(
            name,
            url,
            signer=signer,
            timeout=settings.upstream_timeout_seconds,
            connections=settings.upstream_connections,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            breaker_failures=settings.upstream_breaker_failures,
            breaker_open_seconds=settings.upstream_breaker_open_seconds,
            max_body=settings.upstream_max_body_bytes,
        )

    identity, engine = identity_for(settings)
    return Container(
        settings=settings,
        identity=identity,
        audit=AuditWriter(identity.store),
        engine=engine,
        execution_tracking=upstream("execution-tracking", settings.execution_tracking_url),
        quality_alerting=upstream("quality-alerting", settings.quality_alerting_url),
        scheduler=upstream("scheduler", settings.scheduler_url),
        ingestion=upstream("ingestion", settings.ingestion_url),
    )
