"""Object storage of the ingestion service: uploaded files kept, watched prefixes listed, uploads signed."""

from headwater.ingestion.adapters.storage.buckets import BucketStores
from headwater.ingestion.adapters.storage.config import StoreConfig, local_store, parse_store_url
from headwater.ingestion.adapters.storage.object_store import ObjectStore
from headwater.ingestion.domain.objects import ObjectInfo, StoredObject, validate_key
from headwater.ingestion.domain.storage_errors import (
    AccessDenied,
    BucketRefused,
    InvalidKey,
    InvalidStoreUrl,
    ObjectNotFound,
    SigningNotSupported,
    StorageError,
    StoreUnavailable,
)

__all__ = [
    "AccessDenied",
    "BucketRefused",
    "BucketStores",
    "InvalidKey",
    "InvalidStoreUrl",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "SigningNotSupported",
    "StorageError",
    "StoreConfig",
    "StoreUnavailable",
    "StoredObject",
    "local_store",
    "parse_store_url",
    "validate_key",
]
