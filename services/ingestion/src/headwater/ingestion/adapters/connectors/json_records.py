"""JSON records (API answers, documents) as Arrow: columns typed from the values, nested values as JSON text."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import CheckFailed, Column


def _json_type(values: Sequence[Any]) -> str:
    kinds: set[type] = {type(v) for v in values if v is not None}
    if not kinds:
        return "string"
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int}:
        return "integer"
    if kinds <= {int, float}:
        return "number"
    if kinds <= {dict}:
        return "object"
    if kinds <= {list}:
        return "array"
    return "string"


def infer_columns(records: Sequence[Mapping[str, Any]]) -> tuple[Column, ...]:
    names: dict[str, None] = {}
    for r in records:
        names.update(dict.fromkeys(r))
    return tuple(Column(name=n, type=_json_type([r.get(n) for r in records])) for n in names)


_ARROW = {"boolean": pa.bool_(), "integer": pa.int64(), "number": pa.float64()}


def _cell(value: Any, json_type: str) -> Any:
    if value is None:
        return None
    if json_type in ("object", "array") or isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if json_type == "string" and not isinstance(value, str):
        return json.dumps(value)
    return value


def to_batch(records: Sequence[Mapping[str, Any]], columns: Sequence[Column], where: str) -> Any:
    arrays: list[Any] = []
    for c in columns:
        try:
            arrays.append(
                pa.array(
                    [_cell(r.get(c.name), c.type) for r in records], type=_ARROW.get(c.type, pa.string())
                )
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
            raise CheckFailed(
                "read_failed", f"{where}: field {c.name!r} holds a value not of type {c.type}: {e}"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, names=[c.name for c in columns])
