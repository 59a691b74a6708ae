"""Value types every dialect's contracts share: ids and counts as Postgres `bigint` holds them."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

BIGINT_MAX = 2**63 - 1
Id = Annotated[int, Meta(ge=1, le=BIGINT_MAX)]
Count = Annotated[int, Meta(ge=0, le=BIGINT_MAX)]

# Text Postgres can store: no NUL byte (JSON's "\u0000" decodes to one, and Postgres refuses it). Lone UTF-16
# surrogates, which Postgres refuses too, never get this far: msgspec's JSON decoder refuses "\udcff" and forms
# are decoded as UTF-8 with replacement. Written so JSON Schema tools (the OpenAPI document's readers, fuzzers)
# understand it. Each bounded, so no form field is an unbounded allocation or hash.
STORABLE = r"^[^\x00]*$"
Name = Annotated[str, Meta(max_length=320, pattern=STORABLE)]  # usernames, emails, people's and tokens' names
Secret = Annotated[str, Meta(max_length=1024, pattern=STORABLE)]  # passwords: argon2 hashes what it is given
