"""Fixtures of the ingestion service's tests: the object stores (local folder, moto S3, GCS emulator)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headwater.ingestion.adapters.storage import ObjectStore, local_store
from headwater.ingestion.testing import GCSEmulator, S3Server, gcs_emulator, moto_s3_server, new_bucket_name

STORE_KINDS = ["local", "s3", "gcs"]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with moto_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCSEmulator]:
    with gcs_emulator(tmp_path_factory.mktemp("gcs-emulator")) as server:
        yield server


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def object_store(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ObjectStore:
    """A store of its own for the test: a fresh folder, or a fresh bucket under a prefix."""
    if store_kind == "local":
        return ObjectStore(local_store(tmp_path_factory.mktemp("store")))
    server: S3Server | GCSEmulator = request.getfixturevalue(
        "s3_server" if store_kind == "s3" else "gcs_server"
    )
    bucket = new_bucket_name(store_kind)
    server.create_bucket(bucket)
    return ObjectStore(server.store(bucket, prefix="uploads"))
