"""Store URLs: each scheme, options in the query and as keywords, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.ingestion.adapters.storage import InvalidStoreUrl, ObjectStore, local_store, parse_store_url


def test_a_local_folder_url() -> None:
    config = parse_store_url("file:///var/lib/headwater/files")

    assert (config.scheme, config.location, config.prefix) == ("file", "/var/lib/headwater/files", "")
    assert config.url == "file:///var/lib/headwater/files"


def test_the_embedded_default_is_a_folder(tmp_path: Path) -> None:
    config = local_store(tmp_path / "files")

    assert config.scheme == "file"
    assert config.location == str((tmp_path / "files").resolve())
    ObjectStore(config)  # builds without contacting anything
    assert (tmp_path / "files").is_dir()


def test_an_s3_url_with_a_local_server_and_keys_given_apart() -> None:
    config = parse_store_url(
        "s3://landing/headwater/files/?endpoint=http://127.0.0.1:9000&region=eu-west-1&allow_http=true",
        access_key_id="AKIATEST",
        secret_access_key="secret",
    )

    assert (config.scheme, config.location, config.prefix) == ("s3", "landing", "headwater/files")
    assert (config.endpoint, config.region, config.allow_http) == ("http://127.0.0.1:9000", "eu-west-1", True)
    assert (config.access_key_id, config.secret_access_key) == ("AKIATEST", "secret")
    assert config.url == "s3://landing/headwater/files"
    assert "secret" not in config.url


def test_a_gcs_url_for_an_emulator() -> None:
    config = parse_store_url("gs://bucket?endpoint=http://localhost:4443&anonymous=1&allow_http=yes")

    assert (config.scheme, config.location, config.prefix, config.anonymous) == ("gs", "bucket", "", True)
    assert config.endpoint == "http://localhost:4443"


def test_an_azure_url_needs_an_account() -> None:
    config = parse_store_url("az://container/in", account_name="headwater", account_key="a2V5")

    assert (config.scheme, config.location, config.prefix, config.account_name) == (
        "az",
        "container",
        "in",
        "headwater",
    )
    with pytest.raises(InvalidStoreUrl, match="account name"):
        parse_store_url("az://container/in")


def test_keywords_win_over_the_query() -> None:
    config = parse_store_url("s3://b?region=eu-west-1", region="us-west-2", part_bytes=16 * 1024 * 1024)

    assert (config.region, config.part_bytes) == ("us-west-2", 16 * 1024 * 1024)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "unknown store scheme"),
        ("s3:///prefix-only", "no bucket"),
        ("file://host/folder", "has no host"),
        ("file://", "needs a folder"),
        ("s3://b?secret_access_key=x", "unknown store option 'secret_access_key'"),
        ("s3://b?allow_http=maybe", "takes true or false"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(InvalidStoreUrl, match=message):
        parse_store_url(url)


def test_bad_options_are_refused_with_a_reason() -> None:
    with pytest.raises(InvalidStoreUrl, match="at least 5 MiB"):
        parse_store_url("s3://b", part_bytes=1024)
    with pytest.raises(InvalidStoreUrl, match="both access_key_id and secret_access_key"):
        parse_store_url("s3://b", access_key_id="AKIA")
    with pytest.raises(InvalidStoreUrl, match="bad store option"):
        parse_store_url("s3://b", max_concurrency="many")
    with pytest.raises(InvalidStoreUrl, match="absolute folder"):
        parse_store_url("file:relative/folder")


def test_secrets_stay_out_of_the_repr() -> None:
    config = parse_store_url("s3://b", access_key_id="AKIATEST", secret_access_key="very-secret")

    assert "very-secret" not in repr(config)
    assert "secret_access_key='***'" in repr(config)
    assert "AKIATEST" in repr(config)
