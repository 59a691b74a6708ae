"""Connection configurations encrypted at rest: AES-256-GCM under a key from the settings.

A sealed value is `hw1:` + base64(key id (4 bytes) + nonce (12 bytes) + ciphertext and tag). The key id lets an
operator rotate keys: the current key seals, the current or any of the previous keys opens; a value sealed under a
key nobody configured fails with a message that says which. The plaintext is the configuration's JSON.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "hw1:"


class UnreadableSecret(Exception):
    """A sealed value that no configured key opens (or that was altered)."""


def _key(secret: str) -> tuple[bytes, bytes]:
    key = hashlib.sha256(f"connections\x00{secret}".encode()).digest()
    return hashlib.sha256(key).digest()[:4], key


class SecretBox:
    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        if len(secret) < 32:
            raise ValueError("the connection secrets key must be at least 32 characters")
        self._current = _key(secret)
        self._keys = dict([self._current, *(_key(p) for p in previous)])

    def seal(self, value: dict[str, Any]) -> str:
        key_id, key = self._current
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, msgspec.json.encode(value), key_id)
        return PREFIX + base64.b64encode(key_id + nonce + sealed).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        if not sealed.startswith(PREFIX):
            raise UnreadableSecret("not a sealed configuration")
        raw = base64.b64decode(sealed[len(PREFIX) :])
        key_id, nonce, body = raw[:4], raw[4:16], raw[16:]
        key = self._keys.get(key_id)
        if key is None:
            raise UnreadableSecret(
                f"sealed under key {key_id.hex()}, which is not configured: set the key it was sealed with as "
                "HEADWATER_INGESTION_CONNECTION_SECRETS_PREVIOUS"
            )
        try:
            return msgspec.json.decode(AESGCM(key).decrypt(nonce, body, key_id), type=dict[str, Any])
        except InvalidTag:
            raise UnreadableSecret(f"the configuration sealed under key {key_id.hex()} was altered") from None
