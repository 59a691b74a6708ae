"""Value types every dialect's contracts share: ids and counts as Postgres `bigint` holds them, and text as
Postgres stores it."""

from __future__ import annotations

import re
from typing import Annotated, Any, cast

import msgspec
from msgspec import Meta

BIGINT_MAX = 2**63 - 1
Id = Annotated[int, Meta(ge=1, le=BIGINT_MAX)]
Count = Annotated[int, Meta(ge=0, le=BIGINT_MAX)]

# Text Postgres can store: no NUL byte (JSON's "\u0000" decodes to one, and Postgres refuses it). Lone UTF-16
# surrogates, which Postgres refuses too, never get this far: msgspec's JSON decoder refuses "\udcff" and forms
# are decoded as UTF-8 with replacement. Written so JSON Schema tools (the OpenAPI document's readers, fuzzers)
# understand it. Each bounded, so no form field is an unbounded allocation or hash.
STORABLE = r"^[^\x00]*$"
# Storable and not blank: a name that is empty or only whitespace names nothing.
NAMED = r"^(?!\s*$)[^\x00]*$"
# What a client reads in a 422 instead of the patterns themselves.
PATTERN_MEANINGS = {
    STORABLE: "text without NUL characters",
    NAMED: "a name that is not blank, without NUL characters",
}
Name = Annotated[str, Meta(max_length=320, pattern=STORABLE)]  # usernames, emails, people's and tokens' names
Secret = Annotated[str, Meta(max_length=1024, pattern=STORABLE)]  # passwords: argon2 hashes what it is given
Text = Annotated[
    str, Meta(max_length=2000, pattern=STORABLE)
]  # free text: URLs, formats, producers, signatures
Word = Annotated[str, Meta(max_length=50, pattern=STORABLE)]  # a short setting (a datepart, a direction)

_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def storable(text: str, max_length: int) -> bool:
    """Whether `text` (from a path, where no contract type applies) fits `max_length` and Postgres stores it."""
    return len(text) <= max_length and _UNSTORABLE.search(text) is None


def storable_json(field: str, value: Any) -> None:
    """Refuse (ValueError, which msgspec turns into a validation error, 422 over HTTP) free-form JSON `value`
    of `field` when a key or a string anywhere in it holds a NUL or a lone UTF-16 surrogate, saying where:
    Postgres' `jsonb` stores neither, and the type of a nested value says nothing about it."""
    pending: list[tuple[str, object]] = [(field, value)]
    while pending:
        at, item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise ValueError(
                    f"`{at}` holds a NUL character or a lone UTF-16 surrogate, which cannot be stored"
                )
        elif isinstance(item, dict):
            for key, nested in cast(dict[str, object], item).items():
                if _UNSTORABLE.search(key):
                    raise ValueError(
                        f"a key in `{at}` holds a NUL character or a lone UTF-16 surrogate, which cannot be stored"
                    )
                pending.append((f"{at}.{key}", nested))
        elif isinstance(item, list):
            pending.extend((f"{at}[{i}]", nested) for i, nested in enumerate(cast(list[object], item)))


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
