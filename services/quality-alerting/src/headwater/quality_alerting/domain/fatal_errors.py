"""What a fatal error is (Qluster): a report of what stopped a job outright, the stored error it adds to, and
which errors a listing or a deletion picks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import msgspec


class FatalErrorReport(msgspec.Struct, frozen=True, kw_only=True):
    """One occurrence of a fatal error. Reports with the same `fingerprint` add to one stored error's count
    (until it is deleted; the next report starts a new one)."""

    error: str
    module: str
    msg: str
    job_name: str | None = None
    job_type: str | None = None
    stack_trace: str = ""
    data_source_id: int | None = None
    settings_model_id: int | None = None
    dataset_id: int | None = None
    stored_item_id: int | None = None
    alert_item_id: int | None = None
    meta_data: dict[str, Any] = msgspec.field(default_factory=dict[str, Any])

    @property
    def fingerprint(self) -> str:
        """The same error of the same job about the same thing: module, error, job, data source and file."""
        parts = (
            self.module,
            self.error,
            self.job_name,
            self.job_type,
            self.data_source_id,
            self.stored_item_id,
        )
        return hashlib.sha256(msgspec.json.encode(parts)).hexdigest()


class FatalError(msgspec.Struct, frozen=True, kw_only=True):
    """A stored fatal error."""

    id: int
    job_name: str | None
    job_type: str | None
    error: str
    module: str
    msg: str
    stack_trace: str
    data_source_id: int | None
    settings_model_id: int | None
    dataset_id: int | None
    stored_item_id: int | None
    alert_item_id: int | None
    meta_data: dict[str, Any]
    count: int
    deleted: bool
    created_at: datetime


@dataclass(frozen=True)
class FatalErrorFilter:
    """Which errors a listing keeps: deleted or not (not, unless told), those whose other columns equal every
    value set here (None: any value), among the data sources the caller may see (None: all of them)."""

    deleted: bool = False
    job_name: str | None = None
    module: str | None = None
    data_sources: Sequence[int] | None = None

    def columns(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "data_sources"}


@dataclass(frozen=True)
class FatalErrorMatch:
    """Which errors a deletion removes: those not yet deleted equal to every value set here (at least one)."""

    id: int | None = None
    job_name: str | None = None
    job_type: str | None = None
    error: str | None = None

    def columns(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}
