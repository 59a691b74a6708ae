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
    quality_alerting: Upstream
    scheduler: Upstream

    @property
    def upstreams(self) -> tuple[Upstream, ...]:
        return (self.execution_tracking, self.quality_alerting, self.scheduler)

    async def close(self) -> None:
        for upstream in self.upstreams:
            await upstream.close()


def load(environ: Mapping[str, str] | None = None) -> Settings:
    return load_settings(Settings, SERVICE, environ)


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or load()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
    configure_telemetry(
        SERVICE, otlp_endpoint=settings.otel_exporter_otlp_endpoint, environment=settings.environment
    )

    def upstream(name: str, url: str) -> Upstream:
        return Upstream(
            name, url, timeout=settings.upstream_timeout_seconds, connections=settings.upstream_connections
        )

    return Container(
        settings=settings,
        execution_tracking=upstream("execution-tracking", settings.execution_tracking_url),
        quality_alerting=upstream("quality-alerting", settings.quality_alerting_url),
        scheduler=upstream("scheduler", settings.scheduler_url),
    )
