"""Where uploaded files are kept: a store configuration parsed from a URL (`file://`, `s3://`, `gs://`, `az://`).

Non-secret options may ride in the URL's query (`s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1
&allow_http=true`), so one setting can name a store; secrets (access keys, service account keys) are passed
as keyword arguments, read from their own settings, so they never appear in a logged URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec

from headwater.ingestion.domain.storage_errors import InvalidStoreUrl

Scheme = Literal["file", "s3", "gs", "az"]

_SCHEMES: dict[str, Scheme] = {"file": "file", "s3": "s3", "gs": "gs", "gcs": "gs", "az": "az", "azure": "az"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_SECRETS = {"secret_access_key", "session_token", "service_account_key", "bearer_token", "account_key"}
_QUERY_OPTIONS = {"endpoint", "region", "allow_http", "anonymous", "account_name"}

MIB = 1024 * 1024


class StoreConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One bucket (or local folder) and a prefix inside it, with what it takes to reach it.

    `location` is the bucket (S3, GCS), the container (Azure) or the absolute folder (local).
    """

    scheme: Scheme
    location: str
    prefix: str = ""
    endpoint: str | None = None
    """S3-compatible server or GCS emulator base URL; the cloud's own when None."""
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    allow_http: bool = False
    """Plain HTTP to `endpoint` (a local S3 server or emulator); refused by the library otherwise."""
    anonymous: bool = False
    """Send unsigned requests (public buckets). On GCS obstore 0.12 still fetches a token for writes, so an
    emulator is reached with a `bearer_token` instead."""
    service_account_key: str | None = None
    """GCS service account key (its JSON text); needed to pre-sign URLs without the IAM signBlob API."""
    bearer_token: str | None = None
    """GCS static OAuth token; with `service_account_key`, requests use it and signing uses the key."""
    account_name: str | None = None
    account_key: str | None = None
    part_bytes: int = 8 * MIB
    """Multipart part size: objects up to this size go in one request, larger ones part by part."""
    max_concurrency: int = 4
    """Parts in flight at once; memory held by an upload is at most about `part_bytes * max_concurrency`."""
    max_retries: int = 3
    retry_timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not self.location:
            raise InvalidStoreUrl(
                f"a {self.scheme} store needs a {'folder' if self.scheme == 'file' else 'bucket'}"
            )
        if self.scheme == "file" and not Path(self.location).is_absolute():
            raise InvalidStoreUrl(f"a local store needs an absolute folder, not {self.location!r}")
        if self.scheme == "az" and not (self.account_name or self.endpoint):
            raise InvalidStoreUrl("an Azure store needs an account name (or an endpoint)")
        if self.part_bytes < 5 * MIB:
            # S3 refuses parts under 5 MiB (except the last one).
            raise InvalidStoreUrl(f"part_bytes must be at least 5 MiB, not {self.part_bytes}")
        if self.max_concurrency < 1 or self.max_retries < 0 or self.retry_timeout_seconds <= 0:
            raise InvalidStoreUrl(
                "max_concurrency must be ≥ 1, max_retries ≥ 0 and retry_timeout_seconds > 0"
            )
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise InvalidStoreUrl("give both access_key_id and secret_access_key, or neither")

    def __repr__(self) -> str:
        shown = {
            name: ("***" if name in _SECRETS and value is not None else value)
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not None
        }
        return f"StoreConfig({', '.join(f'{name}={value!r}' for name, value in shown.items())})"

    @property
    def url(self) -> str:
        """The store's URL without secrets or query options (for logs and messages)."""
        if self.scheme == "file":
            return Path(self.location, self.prefix).as_uri()
        return f"{self.scheme}://{self.location}/{self.prefix}".rstrip("/")


def local_store(folder: Path | str) -> StoreConfig:
    """A store in a local folder (the embedded default: a folder under the state directory)."""
    return StoreConfig(scheme="file", location=str(Path(folder).resolve()))


def parse_store_url(url: str, **options: str | int | float | bool | None) -> StoreConfig:
    """Read a store URL; `options` (secrets, tuning) are added to those of the URL's query and win over them.

    `file:///var/lib/headwater/files`, `s3://bucket/prefix?endpoint=...&region=...&allow_http=true`,
    `gs://bucket/prefix?endpoint=...&anonymous=true`, `az://container/prefix?account_name=...`.
    """
    parts = urlsplit(url.strip())
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise InvalidStoreUrl(
            f"unknown store scheme in {_without_query(url)!r}: use file://, s3://, gs:// or az://"
        )
    fields: dict[str, object] = {"scheme": scheme}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in _QUERY_OPTIONS:
            allowed = ", ".join(sorted(_QUERY_OPTIONS))
            raise InvalidStoreUrl(f"unknown store option {name!r} in the URL (allowed there: {allowed})")
        fields[name] = _flag(name, value) if name in {"allow_http", "anonymous"} else value
    if scheme == "file":
        if parts.netloc not in {"", "localhost"}:
            raise InvalidStoreUrl(f"a local store URL has no host: file:///absolute/folder, not {url!r}")
        fields["location"] = unquote(parts.path)
    else:
        if not parts.netloc:
            raise InvalidStoreUrl(f"no bucket in {_without_query(url)!r}: {scheme}://bucket/optional/prefix")
        fields["location"] = parts.netloc
        fields["prefix"] = unquote(parts.path).strip("/")
    fields.update({name: value for name, value in options.items() if value is not None})
    try:
        return msgspec.convert(fields, StoreConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidStoreUrl(f"bad store option: {exc}") from None


def _flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE or lowered == "":
        return True
    if lowered in _FALSE:
        return False
    raise InvalidStoreUrl(f"store option {name} takes true or false, not {value!r}")


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]
