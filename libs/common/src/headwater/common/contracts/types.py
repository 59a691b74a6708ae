"""Value types every dialect's contracts share: ids and counts as Postgres `bigint` holds them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

BIGINT_MAX = 2**63 - 1
Id = Annotated[int, Meta(ge=1, le=BIGINT_MAX)]
Count = Annotated[int, Meta(ge=0, le=BIGINT_MAX)]

# Text Postgres can store: no NUL byte and no lone UTF-16 surrogate (JSON's "\u0000" and "\udcff" decode to
# them, and Postgres refuses both). Each bounded, so no form field is an unbounded allocation or hash.
STORABLE = r"^[^\x00\ud800-\udfff]*$"
Name = Annotated[str, Meta(max_length=320, pattern=STORABLE)]  # usernames, emails, people's and tokens' names
Secret = Annotated[str, Meta(max_length=1024, pattern=STORABLE)]  # passwords: argon2 hashes what it is given

# User data that travels in events is bounded so that every event fits a Kafka record (1 MiB by default): a
# metadata object of at most 64 KiB of JSON, a lineage declaration of at most 500 addresses a side and 1,000
# edges (sources x targets), whose `lineage.changed` (edges, added, removed, addresses) stays well under it.
MAX_METADATA_BYTES = 64 * 1024
MAX_LINEAGE_SIDE = 500
MAX_LINEAGE_EDGES = 1_000


def check_metadata(field: str, value: object) -> None:
    """In a contract's `__post_init__`: refuse a metadata object (a JSON object a client sends) of more than
    `MAX_METADATA_BYTES` once encoded, naming the field (msgspec turns the ValueError into a ValidationError)."""
    if isinstance(value, dict):
        size = len(msgspec.json.encode(value))
        if size > MAX_METADATA_BYTES:
            raise ValueError(f"`{field}` is {size} bytes of JSON; at most {MAX_METADATA_BYTES} are accepted")


def check_lineage_edges(sources: int, targets: int) -> None:
    """In a contract's `__post_init__`: refuse a lineage declaration of more than `MAX_LINEAGE_EDGES` edges."""
    if sources * targets > MAX_LINEAGE_EDGES:
        raise ValueError(
            f"{sources} sources x {targets} targets make {sources * targets} lineage edges; "
            f"at most {MAX_LINEAGE_EDGES} edges are accepted in one declaration"
        )
