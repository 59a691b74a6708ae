"""Test support of the ingestion service: a local S3 server (moto), a GCS emulator and Azure's storage emulator
(Azurite), each a subprocess on a free port, with the store configurations that reach them; buckets are created
per test, servers per session.

All run offline. Azurite is a Node.js program: `azurite_blob_command` finds it, or installs it once with npm
into a cache folder (None without Node.js and npm, and the tests that need it are skipped saying so). The GCS emulator is gcp-storage-emulator completed with the XML API calls obstore makes
(`headwater.ingestion.testing_gcs_emulator`); its service account key is generated here, so pre-signed URLs
are signed locally like with a real key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Generator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from headwater.devstack import procs
from headwater.ingestion.adapters.storage.config import StoreConfig

STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_bucket_name(kind: str = "test") -> str:
    """A bucket name of its own for one test (lowercase, 3-63 characters, valid on S3 and GCS)."""
    return f"hw-{kind}-{uuid.uuid4().hex[:12]}"


class S3Server(msgspec.Struct, frozen=True, kw_only=True):
    """A running moto S3 server: any key pair is accepted, signatures are checked for form only."""

    endpoint: str
    region: str = "us-east-1"
    access_key_id: str = "headwater-tests"
    secret_access_key: str = "headwater-tests-secret"

    def create_bucket(self, name: str) -> None:
        response = httpx.put(f"{self.endpoint}/{name}", timeout=10)
        response.raise_for_status()

    def pending_multipart_uploads(self, bucket: str) -> int:
        """Multipart uploads begun and neither completed nor aborted (hidden parts a bucket pays for)."""
        response = httpx.get(f"{self.endpoint}/{bucket}", params={"uploads": ""}, timeout=10)
        response.raise_for_status()
        return response.text.count("<Upload>")

    def store(self, bucket: str, prefix: str = "") -> StoreConfig:
        return StoreConfig(
            scheme="s3",
            location=bucket,
            prefix=prefix,
            endpoint=self.endpoint,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            allow_http=True,
            max_retries=1,
            retry_timeout_seconds=10,
        )


class GCSEmulator(msgspec.Struct, frozen=True, kw_only=True):
    """A running GCS emulator; requests carry a static token, URLs are signed with a generated key."""

    endpoint: str
    service_account_key: str

    def create_bucket(self, name: str) -> None:
        response = httpx.post(
            f"{self.endpoint}/storage/v1/b", params={"project": "headwater"}, json={"name": name}
        )
        response.raise_for_status()

    def store(self, bucket: str, prefix: str = "") -> StoreConfig:
        return StoreConfig(
            scheme="gs",
            location=bucket,
            prefix=prefix,
            endpoint=self.endpoint,
            service_account_key=self.service_account_key,
            # Without a token obstore would fetch one from Google's OAuth endpoint; the emulator ignores it.
            bearer_token="emulator-token",
            allow_http=True,
            max_retries=1,
            retry_timeout_seconds=10,
        )


AZURITE_VERSION = "3.37.0"
# Azurite's well-known development account (the same in every Azurite; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzureEmulator(msgspec.Struct, frozen=True, kw_only=True):
    """A running Azurite blob service with its development account; containers are made with a Shared Key
    request, as the Azure client libraries make them."""

    endpoint: str
    account_name: str = AZURITE_ACCOUNT
    account_key: str = AZURITE_KEY

    def create_bucket(self, name: str) -> None:
        """Create the container `name` (what a bucket is on Azure)."""
        headers = {"x-ms-date": format_datetime(datetime.now(UTC), usegmt=True), "x-ms-version": "2021-08-06"}
        canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
        # Path-style emulator URLs carry the account in the path too, hence it twice in the resource.
        resource = f"/{self.account_name}/{self.account_name}/{name}\nrestype:container"
        to_sign = "PUT\n" + "\n" * 11 + canonical_headers + resource
        key = base64.b64decode(self.account_key)
        signature = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest()).decode()
        headers["Authorization"] = f"SharedKey {self.account_name}:{signature}"
        response = httpx.put(
            f"{self.endpoint}/{self.account_name}/{name}",
            params={"restype": "container"},
            headers=headers,
            timeout=10,
        )
        response.raise_for_status()

    def store(self, bucket: str, prefix: str = "") -> StoreConfig:
        return StoreConfig(
            scheme="az",
            location=bucket,
            prefix=prefix,
            endpoint=f"{self.endpoint}/{self.account_name}",
            account_name=self.account_name,
            account_key=self.account_key,
            allow_http=True,
            max_retries=1,
            retry_timeout_seconds=10,
        )


def azurite_cache() -> Path:
    """Where Azurite is installed when it is not on the PATH: `HEADWATER_TEST_CACHE` or ~/.cache/headwater."""
    root = os.environ.get("HEADWATER_TEST_CACHE") or Path.home() / ".cache" / "headwater"
    return Path(root) / f"azurite-{AZURITE_VERSION}"


def azurite_blob_command() -> list[str] | None:
    """The command that runs Azurite's blob service: on the PATH, in the cache, or installed into the cache now
    with npm (a minute, once); None when Node.js or npm is missing."""
    if found := shutil.which("azurite-blob"):
        return [found]
    if shutil.which("node") is None or (npm := shutil.which("npm")) is None:
        return None
    cache = azurite_cache()
    installed = cache / "node_modules" / ".bin" / "azurite-blob"
    if not installed.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", f"azurite@{AZURITE_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return [str(installed)]


def generated_service_account_key(email: str = "headwater-tests@headwater.iam.gserviceaccount.com") -> str:
    """A service account key (JSON text) with a fresh RSA key: enough to sign GCS URLs offline."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {"type": "service_account", "client_email": email, "private_key": pem, "private_key_id": "1"}
    )


def _wait_until_answering(url: str, proc_pid: int, logfile: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not procs.pid_alive(proc_pid):
            raise RuntimeError(f"{url} exited at start-up:\n{logfile.read_text(errors='replace')[-2000:]}")
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return
    raise RuntimeError(f"{url} did not answer within {STARTUP_SECONDS:.0f} s:\n{logfile.read_text()[-2000:]}")


@contextmanager
def _serving(name: str, argv: list[str], port: int, workdir: Path) -> Generator[str]:
    pidfile, logfile = workdir / f"{name}.pid", workdir / f"{name}.log"
    proc = procs.spawn(argv, pidfile=pidfile, logfile=logfile)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(endpoint + "/", proc.pid, logfile)
        yield endpoint
    finally:
        procs.stop(pidfile, timeout=5)
        proc.wait(timeout=5)


@contextmanager
def moto_s3_server(workdir: Path) -> Generator[S3Server]:
    """moto's S3 server (`moto_server`) on a free port, stopped on exit; its log is in `workdir`."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    with _serving("moto", [str(moto), "-H", "127.0.0.1", "-p", str(port)], port, workdir) as endpoint:
        yield S3Server(endpoint=endpoint)


@contextmanager
def gcs_emulator(workdir: Path) -> Generator[GCSEmulator]:
    """The GCS emulator (in memory) on a free port, stopped on exit; its log is in `workdir`."""
    port = free_port()
    argv = [sys.executable, "-m", "headwater.ingestion.testing_gcs_emulator", "--port", str(port)]
    with _serving("gcs-emulator", argv, port, workdir) as endpoint:
        yield GCSEmulator(endpoint=endpoint, service_account_key=generated_service_account_key())


@contextmanager
def azurite(workdir: Path, command: list[str]) -> Generator[AzureEmulator]:
    """Azurite's blob service (in memory) on a free port, stopped on exit; its log is in `workdir`."""
    port = free_port()
    argv = [
        *command,
        "--inMemoryPersistence",
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--skipApiVersionCheck",
        "--silent",
    ]
    with _serving("azurite", argv, port, workdir) as endpoint:
        yield AzureEmulator(endpoint=endpoint)
