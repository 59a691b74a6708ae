"""What every destination does alike: read its configuration into a Struct, draw its form, count its rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from prometheus_client import Counter

from headwater.ingestion.domain.connectors import CheckFailed

ROWS_WRITTEN = Counter(
    "headwater_ingestion_destination_rows_total", "Rows committed by destinations", ["kind"]
)
WRITES = Counter(
    "headwater_ingestion_destination_writes_total",
    "Destination write calls by outcome (ok, or the failure's reason)",
    ["kind", "outcome"],
)

C = TypeVar("C", bound=msgspec.Struct)

SECRET: dict[str, Any] = {"format": "password", "writeOnly": True, "x-secret": True}
"""Marks a field of a form as a secret: drawn as a password box, stored encrypted, masked in answers."""


def parse_config(config: Mapping[str, Any], shape: type[C], kind: str) -> C:
    """`config` as `shape`, or `CheckFailed("invalid_config")` naming the field that fails (never the value)."""
    try:
        return msgspec.convert(dict(config), shape, strict=False)
    except msgspec.ValidationError as exc:
        raise CheckFailed("invalid_config", f"{kind} destination: {exc}") from None


def form_of(shape: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON Schema of `shape` with its definition inlined (the form a UI draws needs no `$ref`)."""
    schema = msgspec.json.schema(shape)
    definitions: dict[str, Any] = schema["$defs"]
    form = dict(definitions[shape.__name__])
    form.pop("title", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **form}
