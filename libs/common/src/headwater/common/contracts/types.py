"""Value types every dialect's contracts share: ids and counts as Postgres `bigint` holds them."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

BIGINT_MAX = 2**63 - 1
Id = Annotated[int, Meta(ge=1, le=BIGINT_MAX)]
Count = Annotated[int, Meta(ge=0, le=BIGINT_MAX)]
