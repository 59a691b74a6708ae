"""Gateway settings, read from `HEADWATER_GATEWAY_*` (then `HEADWATER_*`)."""

from __future__ import annotations

from headwater.common.settings import CommonSettings


class Settings(CommonSettings, frozen=True, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_workers: int = 1
    execution_tracking_url: str = "http://127.0.0.1:8081"
    quality_alerting_url: str = "http://127.0.0.1:8082"
    scheduler_url: str = "http://127.0.0.1:8083"
    upstream_timeout_seconds: float = 30.0
    upstream_connections: int = 100
