"""The buckets of users that sensors list: a store built from a data source's fields, under the operator's rules
(which S3-compatible endpoints may be named, whether the service's own credentials may stand in for none)."""

from __future__ import annotations

from collections.abc import Iterable

from obstore.exceptions import BaseError

from headwater.ingestion.adapters.storage.config import StoreConfig
from headwater.ingestion.adapters.storage.object_store import ObjectStore
from headwater.ingestion.domain.sensors import WatchedBucket
from headwater.ingestion.domain.storage_errors import BucketRefused


def _normalised(endpoint: str) -> str:
    return endpoint.strip().rstrip("/").lower()


class BucketStores:
    """Builds the store of a watched bucket.

    `allowed_endpoints`: the base URLs a data source's `s3_endpoint_url` may name (MinIO, another S3-compatible
    server); any other is refused, so a data source cannot make the service call an arbitrary address of its
    network. `own_credentials`: a bucket given without keys is read with the service's own credentials (AWS_*
    variables, an instance role, Google's application default credentials); otherwise unsigned (public buckets
    only), so a data source cannot borrow the service's access to buckets its user has no keys of.
    """

    def __init__(
        self, *, allowed_endpoints: Iterable[str] = (), own_credentials: bool = False, max_retries: int = 2
    ) -> None:
        self.allowed_endpoints = frozenset(_normalised(e) for e in allowed_endpoints if e.strip())
        self.own_credentials = own_credentials
        self.max_retries = max_retries

    def store_of(self, bucket: WatchedBucket) -> ObjectStore:
        if bucket.endpoint is not None and _normalised(bucket.endpoint) not in self.allowed_endpoints:
            raise BucketRefused(
                f"s3_endpoint_url {bucket.endpoint!r} is not one the operator allows sensors to reach "
                "(HEADWATER_INGESTION_SENSOR_S3_ENDPOINTS)"
            )
        try:
            config = StoreConfig(
                scheme=bucket.scheme,
                location=bucket.bucket,
                endpoint=bucket.endpoint,
                region=bucket.region,
                access_key_id=bucket.access_key_id,
                secret_access_key=bucket.secret_access_key,
                service_account_key=bucket.service_account_key,
                allow_http=bucket.endpoint is not None and bucket.endpoint.lower().startswith("http://"),
                anonymous=not bucket.has_credentials and not self.own_credentials,
                max_retries=self.max_retries,
                retry_timeout_seconds=20,
            )
            return ObjectStore(config)
        except (BaseError, ValueError) as e:
            raise BucketRefused(f"no store can be configured for {bucket.url}: {e}") from None
