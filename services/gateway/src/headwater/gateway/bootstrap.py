"""The gateway's composition root: settings, logging, telemetry and one upstream per service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from headwater.common.logging import configure_logging
from headwater.common.settings import load_settings
from headwater.common.telemetry import configure_telemetry
from headwater.gateway import SERVICE
from headwater.gateway.settings import Settings
from headwater.gateway.upstream import Upstream


@dataclass
class Container:
    settings: Settings
    execution_tracking: Upstream

    async def close(self) -> None:
        await self.execution_tracking.close()


def load(environ: Mapping[str, str] | None = None) -> Settings:
    return load_settings(Settings, SERVICE, environ)


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or load()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
    configure_telemetry(
        SERVICE, otlp_endpoint=settings.otel_exporter_otlp_endpoint, environment=settings.environment
    )
    return Container(
        settings=settings,
        execution_tracking=Upstream(
            "execution-tracking",
            settings.execution_tracking_url,
            timeout=settings.upstream_timeout_seconds,
            connections=settings.upstream_connections,
        ),
    )
