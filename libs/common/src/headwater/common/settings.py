"""Settings read from prefixed environment variables into frozen msgspec Structs.

Every service describes its settings as a frozen Struct and calls `load_settings` from its composition root;
nothing is read at import time. A field `database_url` of the service `execution_tracking` is read from
`HEADWATER_EXECUTION_TRACKING_DATABASE_URL`, falling back to `HEADWATER_DATABASE_URL`, then to the default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final, NamedTuple, TypeVar

import msgspec

from headwater.common.db.engine import Timeouts
from headwater.common.principal import MIN_KEY_LENGTH


class LocalPorts(NamedTuple):
    """Where a service listens by default: its HTTP API, and its worker's Prometheus metrics (0: no worker)."""

    http: int
    worker_metrics: int = 0


# One pair of ports per service, so that services run side by side on one machine (`make up`, a service started by
# hand) without being told where: each service's settings, the gateway's upstream URLs and the devstack read them
# here, and Compose and the Kubernetes manifests are tested against the devstack's.
LOCAL_PORTS: Final[Mapping[str, LocalPorts]] = {
    "gateway": LocalPorts(8080),
    "execution-tracking": LocalPorts(8081, 9464),
    "quality-alerting": LocalPorts(8082, 9465),
    "scheduler": LocalPorts(8083, 9466),
    "ingestion": LocalPorts(8084, 9467),
}


def local_url(service: str) -> str:
    """The HTTP API of `service` on this machine, at its default port."""
    return f"http://127.0.0.1:{LOCAL_PORTS[service].http}"


class CommonSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Settings every service shares: broker, topics, telemetry and logging."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    otel_exporter_otlp_endpoint: str = ""
    environment: str = "local"
    # How long a consumer's fetch may wait on the broker for new messages. Kafka answers as soon as one arrives
    # (fetch_min_bytes 1), tansu only when the wait is over: short waits keep event-to-effect delays short there.
    consumer_fetch_max_wait_ms: int = 100
    # How long a process waits on its database, in seconds: opening a connection, a pooled connection while all
    # are busy, one statement (Postgres cancels it). An HTTP request that runs out answers 503 with Retry-After.
    db_connect_timeout_seconds: float = 5.0
    db_pool_timeout_seconds: float = 10.0
    db_statement_timeout_seconds: float = 30.0

    @property
    def db_timeouts(self) -> Timeouts:
        return Timeouts(
            connect=self.db_connect_timeout_seconds,
            statement=self.db_statement_timeout_seconds,
            pool=self.db_pool_timeout_seconds,
        )

    # The key the gateway signs the caller's principal with and the services verify it with (HMAC-SHA256): every
    # process that serves or calls an internal HTTP API needs the same one, at least 32 characters.
    internal_signing_key: str = ""


# Internal signing keys that are public (docker-compose.yml's development default, the placeholder of the Kubernetes
# example Secret): anyone could sign as any principal with them.
KNOWN_INTERNAL_SIGNING_KEYS: Final = frozenset(
    {"development-only-insecure-internal-key-do-not-use", "REPLACE-ME-WITH-AT-LEAST-32-RANDOM-CHARACTERS"}
)


def internal_signing_problem(settings: CommonSettings) -> str | None:
    """Why `settings` cannot sign or verify internal calls, if they cannot."""
    key = settings.internal_signing_key
    if len(key) < MIN_KEY_LENGTH:
        return (
            "HEADWATER_INTERNAL_SIGNING_KEY must be set to at least 32 characters, the same in every service "
            "and the gateway (it signs the caller's principal on internal calls)"
        )
    if key in KNOWN_INTERNAL_SIGNING_KEYS and settings.environment != "local":
        return (
            f"HEADWATER_INTERNAL_SIGNING_KEY is a published development key and HEADWATER_ENVIRONMENT is "
            f"{settings.environment!r}: set a secret key (e.g. `openssl rand -base64 48`)"
        )
    return None


class ServiceSettings(CommonSettings, frozen=True, kw_only=True):
    """Settings of a service that owns a schema and runs an internal HTTP API and a worker (`python -m
    headwater.<service> serve|worker`). Each service subclasses it, setting the defaults that are its own (its DSN,
    port, consumer group, metrics port) and adding its own fields."""

    database_url: str
    http_host: str = "127.0.0.1"
    http_port: int
    http_workers: int = 1
    db_pool_size: int = 10
    consumer_group: str
    relay_batch_size: int = 500  # outbox rows published per claim
    # Inbox rows (processed message ids) are purged once older than this: at least the retention of the topics
    # the service consumes (Kafka's default is 7 days), since only a message still in its topic can be redelivered.
    inbox_retention_days: int = 8
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = (
        0  # Prometheus metrics of the worker (relay, consumers, loops); 0 turns them off
    )


T = TypeVar("T", bound=msgspec.Struct)


class SettingsError(ValueError):
    """An environment variable could not be read as the type its setting needs."""


def load_settings(cls: type[T], service: str, environ: Mapping[str, str] | None = None) -> T:
    """Build `cls` from `HEADWATER_<SERVICE>_<FIELD>`, then `HEADWATER_<FIELD>`, then the field default."""
    env = os.environ if environ is None else environ
    service_prefix = f"HEADWATER_{service.upper().replace('-', '_')}_"
    raw: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        key = field.name.upper()
        for name in (service_prefix + key, "HEADWATER_" + key):
            if name in env:
                raw[field.name] = env[name]
                break
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid {cls.__name__} from environment: {exc}") from exc
