"""The whole system on one machine: what `make up`, `make down` and the end-to-end tests drive."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from headwater.common.settings import LOCAL_PORTS
from headwater.devstack.kafka import TansuBroker, create_topics
from headwater.devstack.postgres import EmbeddedPostgres
from headwater.devstack.procs import read_pid, spawn, stop

DATABASE = "headwater"
# The Postgres database destinations load into by default (ingestion's warehouse), owned by the ingestion role.
WAREHOUSE_DATABASE = "warehouse"
WAREHOUSE_OWNER = "ingestion"


@dataclass(frozen=True)
class ServiceSpec:
    """A service of the stack: its Postgres schema (and role of the same name) and its processes."""

    name: str
    module: str
    schema: str | None
    roles: tuple[str, ...]  # process roles: `serve` (HTTP) and/or `worker` (Kafka consumers + outbox relay)


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "execution-tracking", "headwater.execution_tracking", "execution_tracking", ("serve", "worker")
    ),
    ServiceSpec("quality-alerting", "headwater.quality_alerting", "quality_alerting", ("serve", "worker")),
    ServiceSpec("scheduler", "headwater.scheduler", "scheduler", ("serve", "worker")),
    ServiceSpec("ingestion", "headwater.ingestion", "ingestion", ("serve", "worker")),
    ServiceSpec("gateway", "headwater.gateway", "gateway", ("serve",)),
)


@dataclass
class StackConfig:
    state_dir: Path
    postgres_port: int = 54329
    kafka_port: int = 19092
    gateway_host: str = "127.0.0.1"
    # Each service's HTTP port (`<service>_port`) and worker metrics port (`<service>_metrics_port`).
    gateway_port: int = LOCAL_PORTS["gateway"].http
    execution_tracking_port: int = LOCAL_PORTS["execution-tracking"].http
    execution_tracking_metrics_port: int = LOCAL_PORTS["execution-tracking"].worker_metrics
    quality_alerting_port: int = LOCAL_PORTS["quality-alerting"].http
    quality_alerting_metrics_port: int = LOCAL_PORTS["quality-alerting"].worker_metrics
    scheduler_port: int = LOCAL_PORTS["scheduler"].http
    scheduler_metrics_port: int = LOCAL_PORTS["scheduler"].worker_metrics
    ingestion_port: int = LOCAL_PORTS["ingestion"].http
    ingestion_metrics_port: int = LOCAL_PORTS["ingestion"].worker_metrics
    topic_prefix: str = ""
    partitions: int = 12
    gateway_workers: int = 1
    execution_tracking_workers: int = 1
    log_json: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    # Infrastructure run elsewhere (testcontainers, a shared cluster): then nothing is started locally.
    external_postgres_admin_dsn: str | None = None
    external_kafka_bootstrap: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        env = os.environ if environ is None else environ

        def num(name: str, default: int) -> int:
            return int(env.get(name, default))

        def http_port(service: str) -> int:
            return num(f"HEADWATER_{_snake(service).upper()}_HTTP_PORT", LOCAL_PORTS[service].http)

        def metrics_port(service: str) -> int:
            return num(
                f"HEADWATER_{_snake(service).upper()}_WORKER_METRICS_PORT",
                LOCAL_PORTS[service].worker_metrics,
            )

        return cls(
            state_dir=Path(env.get("HEADWATER_STATE_DIR", ".headwater")).resolve(),
            postgres_port=num("HEADWATER_POSTGRES_PORT", 54329),
            kafka_port=num("HEADWATER_KAFKA_PORT", 19092),
            gateway_host=env.get("HEADWATER_GATEWAY_HTTP_HOST", "127.0.0.1"),
            gateway_port=http_port("gateway"),
            execution_tracking_port=http_port("execution-tracking"),
            execution_tracking_metrics_port=metrics_port("execution-tracking"),
            quality_alerting_port=http_port("quality-alerting"),
            quality_alerting_metrics_port=metrics_port("quality-alerting"),
            scheduler_port=http_port("scheduler"),
            scheduler_metrics_port=metrics_port("scheduler"),
            ingestion_port=http_port("ingestion"),
            ingestion_metrics_port=metrics_port("ingestion"),
            topic_prefix=env.get("HEADWATER_TOPIC_PREFIX", ""),
            partitions=num("HEADWATER_TOPIC_PARTITIONS", 12),
            gateway_workers=num("HEADWATER_GATEWAY_HTTP_WORKERS", 1),
            execution_tracking_workers=num("HEADWATER_EXECUTION_TRACKING_HTTP_WORKERS", 1),
        )


class Stack:
    """Postgres, the broker and every service process of one state folder."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        state = config.state_dir
        self.logs = state / "logs"
        self.run_dir = state / "run"
        self.postgres = EmbeddedPostgres(
            state / "postgres", config.postgres_port, log_file=self.logs / "postgres.log"
        )
        self.broker = TansuBroker(
            config.kafka_port, pidfile=self.run_dir / "tansu.pid", log_file=self.logs / "tansu.log"
        )

    # -- addresses ---------------------------------------------------------------------------------------------

    def url(self, service: str) -> str:
        """The HTTP API of `service`: the gateway on its configured host, the internal APIs on loopback."""
        host = self.config.gateway_host if service == "gateway" else "127.0.0.1"
        port: int = getattr(self.config, f"{_snake(service)}_port")
        return f"http://{host}:{port}"

    @property
    def gateway_url(self) -> str:
        return self.url("gateway")

    @property
    def admin_dsn(self) -> str:
        """A superuser DSN to the `headwater` database."""
        if self.config.external_postgres_admin_dsn:
            return with_database(self.config.external_postgres_admin_dsn, DATABASE)
        return self.postgres.dsn(DATABASE)

    @property
    def kafka_bootstrap(self) -> str:
        return self.config.external_kafka_bootstrap or self.broker.bootstrap

    def service_dsn(self, schema: str) -> str:
        """The DSN a service uses: its own role, which can touch only its own schema."""
        password = self._role_password(schema)
        if self.config.external_postgres_admin_dsn:
            rest = self.config.external_postgres_admin_dsn.split("@", 1)[1]
            return with_database(f"postgresql://{schema}:{password}@{rest}", DATABASE)
        return self.postgres.dsn(DATABASE, schema, password)

    @property
    def warehouse_dsn(self) -> str:
        """The ingestion role's DSN to the `warehouse` database (the default destination of loaded rows)."""
        return with_database(self.service_dsn(WAREHOUSE_OWNER), WAREHOUSE_DATABASE)

    @property
    def object_store_url(self) -> str:
        """Where the ingestion service keeps uploaded files: a folder of the state directory."""
        return f"file://{self.config.state_dir / 'objects'}"

    def _role_password(self, role: str) -> str:
        return self._secret(f"{role}.password")

    @property
    def bootstrap_token(self) -> str:
        """The bootstrap superuser's API token this stack was given (HEADWATER_BOOTSTRAP_TOKEN), if any."""
        return self.service_env().get("HEADWATER_BOOTSTRAP_TOKEN", "")

    @property
    def signing_key(self) -> str:
        """The key that signs the gateway's access tokens (kept across restarts, so tokens outlive them)."""
        return self._secret("gateway.signing_key", size=48)

    @property
    def internal_signing_key(self) -> str:
        """The key the gateway signs principals with on internal calls and every service verifies them with."""
        return self._secret("internal.signing_key", size=48)

    def _secret(self, name: str, size: int = 24) -> str:
        path = self.config.state_dir / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(size))
            path.chmod(0o600)
        return path.read_text().strip()

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def is_running(self) -> bool:
        """Every process of the stack runs (a partly running stack is started again by `up`, idempotently)."""
        infrastructure = (self.config.external_postgres_admin_dsn or self.postgres.is_running()) and (
            self.config.external_kafka_bootstrap or self.broker.is_running()
        )
        return bool(infrastructure) and all(
            read_pid(self._pidfile(spec.name, role)) is not None for spec in SERVICES for role in spec.roles
        )

    def start_infrastructure(self) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.config.external_postgres_admin_dsn:
            self.postgres.start()
        if not self.config.external_kafka_bootstrap:
            self.broker.start()

    def provision(self) -> None:
        """Database, one role per service owning only its schema, topics, and every service's migrations."""
        asyncio.run(self._provision())

    async def _provision(self) -> None:
        await self._create_database_and_roles()
        await create_topics(
            self.kafka_bootstrap, prefix=self.config.topic_prefix, partitions=self.config.partitions
        )
        await self.migrate_all()

    async def _create_database_and_roles(self) -> None:
        admin = await asyncpg.connect(with_database(self.admin_dsn, "postgres"))
        try:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
                await admin.execute(f'CREATE DATABASE "{DATABASE}"')
            await admin.execute(f'REVOKE CREATE, TEMPORARY ON DATABASE "{DATABASE}" FROM PUBLIC')
            for spec in SERVICES:
                if spec.schema is None:
                    continue
                role, password = spec.schema, self._role_password(spec.schema)
                exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                verb = "ALTER" if exists else "CREATE"
                await admin.execute(f"{verb} ROLE \"{role}\" LOGIN PASSWORD '{password}'")
                await admin.execute(f'GRANT CONNECT ON DATABASE "{DATABASE}" TO "{role}"')
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", WAREHOUSE_DATABASE):
                await admin.execute(f'CREATE DATABASE "{WAREHOUSE_DATABASE}" OWNER "{WAREHOUSE_OWNER}"')
            await admin.execute(f'REVOKE ALL ON DATABASE "{WAREHOUSE_DATABASE}" FROM PUBLIC')
        finally:
            await admin.close()
        db = await asyncpg.connect(self.admin_dsn)
        try:
            await db.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            for spec in SERVICES:
                if spec.schema is not None:
                    await db.execute(
                        f'CREATE SCHEMA IF NOT EXISTS "{spec.schema}" AUTHORIZATION "{spec.schema}"'
                    )
                    await db.execute(f'REVOKE ALL ON SCHEMA "{spec.schema}" FROM PUBLIC')
        finally:
            await db.close()

    async def migrate_all(self) -> None:
        """Each service migrates its own schema through its own command, as its own role."""
        env = self.service_env()
        for spec in SERVICES:
            if spec.schema is None:
                continue
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                spec.module,
                "migrate",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"migrations of {spec.name} failed:\n{out.decode()[-3000:]}")

    def bootstrap_identity(self) -> list[str]:
        """The bootstrap superuser (HEADWATER_ADMIN_*) and HEADWATER_BOOTSTRAP_TOKEN, made sure of by the
        gateway's own command; returns what it printed for the operator (a generated password, once)."""
        proc = subprocess.run(
            [sys.executable, "-m", "headwater.gateway", "bootstrap"],
            env=self.service_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bootstrap of the gateway failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
        return proc.stdout.splitlines()

    def service_env(self) -> dict[str, str]:
        cfg = self.config
        env = {
            **os.environ,
            "HEADWATER_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "HEADWATER_TOPIC_PREFIX": cfg.topic_prefix,
            "HEADWATER_LOG_JSON": "true" if cfg.log_json else "false",
            "HEADWATER_EXECUTION_TRACKING_DATABASE_URL": self.service_dsn("execution_tracking"),
            "HEADWATER_EXECUTION_TRACKING_HTTP_PORT": str(cfg.execution_tracking_port),
            "HEADWATER_EXECUTION_TRACKING_HTTP_WORKERS": str(cfg.execution_tracking_workers),
            "HEADWATER_EXECUTION_TRACKING_WORKER_METRICS_PORT": str(cfg.execution_tracking_metrics_port),
            "HEADWATER_QUALITY_ALERTING_DATABASE_URL": self.service_dsn("quality_alerting"),
            "HEADWATER_QUALITY_ALERTING_HTTP_PORT": str(cfg.quality_alerting_port),
            "HEADWATER_QUALITY_ALERTING_WORKER_METRICS_PORT": str(cfg.quality_alerting_metrics_port),
            "HEADWATER_SCHEDULER_DATABASE_URL": self.service_dsn("scheduler"),
            "HEADWATER_SCHEDULER_HTTP_PORT": str(cfg.scheduler_port),
            "HEADWATER_SCHEDULER_WORKER_METRICS_PORT": str(cfg.scheduler_metrics_port),
            "HEADWATER_INGESTION_DATABASE_URL": self.service_dsn("ingestion"),
            "HEADWATER_INGESTION_HTTP_PORT": str(cfg.ingestion_port),
            "HEADWATER_INGESTION_WORKER_METRICS_PORT": str(cfg.ingestion_metrics_port),
            "HEADWATER_INGESTION_OBJECT_STORE_URL": self.object_store_url,
            "HEADWATER_INGESTION_WAREHOUSE_DSN": self.warehouse_dsn,
            "HEADWATER_GATEWAY_HTTP_HOST": cfg.gateway_host,
            "HEADWATER_GATEWAY_HTTP_PORT": str(cfg.gateway_port),
            "HEADWATER_GATEWAY_HTTP_WORKERS": str(cfg.gateway_workers),
            "HEADWATER_GATEWAY_EXECUTION_TRACKING_URL": self.url("execution-tracking"),
            "HEADWATER_GATEWAY_QUALITY_ALERTING_URL": self.url("quality-alerting"),
            "HEADWATER_GATEWAY_SCHEDULER_URL": self.url("scheduler"),
            "HEADWATER_GATEWAY_INGESTION_URL": self.url("ingestion"),
            "HEADWATER_GATEWAY_DATABASE_URL": self.service_dsn("gateway"),
            "HEADWATER_GATEWAY_SIGNING_KEY": os.environ.get("HEADWATER_GATEWAY_SIGNING_KEY")
            or self.signing_key,
            "HEADWATER_INTERNAL_SIGNING_KEY": os.environ.get("HEADWATER_INTERNAL_SIGNING_KEY")
            or self.internal_signing_key,
            **cfg.extra_env,
        }
        return env

    def _pidfile(self, service: str, role: str) -> Path:
        return self.run_dir / f"{service}-{role}.pid"

    def start_service(self, service: str, roles: tuple[str, ...] | None = None) -> None:
        spec = next(s for s in SERVICES if s.name == service)
        env = self.service_env()
        for role in roles or spec.roles:
            pidfile = self._pidfile(service, role)
            if read_pid(pidfile) is None:
                spawn(
                    [sys.executable, "-m", spec.module, role],
                    pidfile=pidfile,
                    logfile=self.logs / f"{service}-{role}.log",
                    env=env,
                    # On one shared machine the worker (outbox relay, consumers) goes first: its work is
                    # bounded by what the HTTP side accepted, and events should not wait behind new requests.
                    niceness=0 if role == "worker" else 3,
                )

    def stop_service(self, service: str, roles: tuple[str, ...] | None = None, *, kill: bool = False) -> None:
        spec = next(s for s in SERVICES if s.name == service)
        for role in roles or spec.roles:
            stop(self._pidfile(service, role), sig=signal.SIGKILL if kill else signal.SIGTERM)

    def start_services(self) -> None:
        for spec in SERVICES:
            self.start_service(spec.name)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every HTTP process answers its readiness probe and every worker is alive."""
        urls = [f"{self.url(spec.name)}/health/ready" for spec in SERVICES if "serve" in spec.roles]
        deadline = time.monotonic() + timeout
        for url in urls:
            while True:
                self._check_processes()
                try:
                    with urllib.request.urlopen(url, timeout=2) as resp:
                        if resp.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} not ready after {timeout:.0f}s; see {self.logs}")
                time.sleep(0.2)

    def _check_processes(self) -> None:
        for spec in SERVICES:
            for role in spec.roles:
                if read_pid(self._pidfile(spec.name, role)) is None:
                    log = self.logs / f"{spec.name}-{role}.log"
                    tail = log.read_text()[-3000:] if log.exists() else ""
                    raise RuntimeError(f"{spec.name} {role} exited; last output of {log}:\n{tail}")

    def up(self) -> None:
        self.start_infrastructure()
        self.provision()
        self.start_services()
        self.wait_ready()

    def stop_broker(self) -> None:
        """Stop the local broker (a fault test: the services keep running and reconnect when it is back)."""
        self.broker.stop()

    def start_broker(self) -> None:
        """Start the local broker again. It keeps its log in memory, so it comes back empty: the topics are
        created again (what it held before is gone, as when a whole Kafka cluster is replaced)."""
        self.broker.start()
        asyncio.run(
            create_topics(
                self.kafka_bootstrap, prefix=self.config.topic_prefix, partitions=self.config.partitions
            )
        )

    def stop_services(self) -> None:
        for spec in reversed(SERVICES):
            self.stop_service(spec.name)

    def down(self) -> None:
        self.stop_services()
        if not self.config.external_kafka_bootstrap:
            self.broker.stop()
        if not self.config.external_postgres_admin_dsn:
            self.postgres.stop()


def _snake(service: str) -> str:
    return service.replace("-", "_")


def with_database(dsn: str, database: str) -> str:
    """`dsn` pointing at `database` instead (query parameters dropped)."""
    base = dsn.split("?", 1)[0]
    return base.rsplit("/", 1)[0] + "/" + database
