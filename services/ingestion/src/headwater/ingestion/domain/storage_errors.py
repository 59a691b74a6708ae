"""The object store's own errors: what callers catch instead of the storage library's exceptions."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every object store error; its message is meant for an operator or an API answer."""


class InvalidStoreUrl(StorageError, ValueError):
    """A store URL or option that cannot configure a store (unknown scheme, missing bucket, bad option)."""


class InvalidKey(StorageError, ValueError):
    """An object key that is not a clean relative path (empty, absolute, `..`, control characters)."""


class ObjectNotFound(StorageError):
    """No object at this key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object at {key!r}")
        self.key = key


class AccessDenied(StorageError):
    """The store refused the credentials or the operation."""


class StoreUnavailable(StorageError):
    """The store could not be reached or failed after its retries (network, server error, timeout)."""


class SigningNotSupported(StorageError):
    """The store has no pre-signed URLs of its own (a local folder); the gateway signs uploads instead."""


class BucketRefused(StorageError):
    """A sensor may not reach this bucket: its endpoint is not one the operator allows, or its fields configure
    no store."""
