"""ingestion settings, read from `HEADWATER_INGESTION_*` (then `HEADWATER_*`)."""

from __future__ import annotations

import hashlib

from headwater.common.settings import LOCAL_PORTS, ServiceSettings
from headwater.ingestion import SERVICE


class Settings(ServiceSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://ingestion:ingestion@127.0.0.1:5432/headwater"
    http_port: int = LOCAL_PORTS[SERVICE].http
    db_pool_size: int = 5
    consumer_group: str = "ingestion"
    worker_metrics_port: int = LOCAL_PORTS[SERVICE].worker_metrics

    # Where uploaded files are kept: `file://<folder>` (a folder under the state directory by default; `make up`
    # gives an absolute one), `s3://bucket/prefix` or `gs://bucket/prefix`.
    object_store_url: str = "file://.headwater/objects"
    # The Postgres that destinations load into when a destination names no DSN of its own: a `warehouse`
    # database on the same server (`make up` creates it, owned by the ingestion role).
    warehouse_dsn: str = "postgresql://ingestion:ingestion@127.0.0.1:5432/warehouse"
    # How long an upload URL (pre-signed, or the gateway's signed one for a local store) accepts its PUT.
    upload_url_seconds: int = 3600
    # The key the gateway's upload URLs of a local store are signed with (at least 32 bytes); empty: derived
    # from the internal signing key, which every process shares already.
    upload_signing_secret: str = ""
    # Sensors of data sources that name a bucket of the user's (003 `s3_bucket`, `gs_bucket`): the base URLs a
    # data source's `s3_endpoint_url` may name (MinIO, another S3-compatible server), comma-separated; empty:
    # none, AWS's own endpoints only. Listed explicitly so a data source cannot make the service call any address.
    sensor_s3_endpoints: str = ""
    # A bucket given without keys is read with the service's own cloud credentials (AWS_* variables, an instance
    # role); false (the default): unsigned, public buckets only, so no data source borrows the service's access.
    sensor_own_credentials: bool = False
    # How many stored files the worker ingests at a time (each one is parsed in a thread and COPYed).
    ingest_batch_size: int = 4

    # The key connection configurations (sources, destinations: passwords, access keys) are encrypted with at rest
    # (at least 32 characters); empty: derived from the internal signing key. Keys it replaced, comma-separated,
    # still open what they sealed (rotate: the new key here, the old one in `connection_secrets_previous`).
    connection_secrets_key: str = ""
    connection_secrets_previous: str = ""
    # How many streams of one sync run at a time, and how long a connector's check may take.
    sync_parallel_streams: int = 2
    connector_check_seconds: float = 10.0
    # How many sync runs one worker carries out at a time, and how long a run's lease lasts without renewal: a
    # worker renews it every few seconds; when it dies, another worker resumes the run once the lease ran out.
    sync_slots: int = 2
    sync_lease_seconds: float = 30.0
    # Folders of this machine the `files` source may read (comma-separated; none by default: a configuration
    # must not read the server's disk), and private or loopback hosts the `http_api` source may call.
    sync_local_roots: str = ""
    sync_allow_hosts: str = ""

    def connection_secrets(self) -> tuple[str, list[str]]:
        """The sealing key and the keys it replaced. Outside `local` the key must be set: a key derived from
        another would change with it and lock every stored configuration."""
        if not self.connection_secrets_key and self.environment != "local":
            raise ValueError(
                "HEADWATER_INGESTION_CONNECTION_SECRETS_KEY is not set: give the API and the worker the same "
                "random key of at least 32 characters (it seals the sources' and destinations' configurations)"
            )
        current = (
            self.connection_secrets_key
            or hashlib.sha256(f"connections\x00{self.internal_signing_key}".encode()).hexdigest()
        )
        return current, [p for p in self.connection_secrets_previous.split(",") if p.strip()]

    def upload_secret(self) -> bytes:
        if self.upload_signing_secret:
            return self.upload_signing_secret.encode()
        return hashlib.sha256(f"uploads\x00{self.internal_signing_key}".encode()).digest()
