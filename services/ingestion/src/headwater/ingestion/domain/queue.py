"""The service's own messages as an operator sees them (003's queue messages): the events of the outbox, sent or
waiting, and those the broker refused and the relay set aside in the outbox quarantine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec


class QueueMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One event: `acknowledged` once the broker took it (`sent_at`); a quarantined one carries why it was
    refused (`reason`) and when (`quarantined_at`)."""

    id: int
    topic: str
    key: str
    event_type: str
    payload: bytes
    created_at: datetime
    sent_at: datetime | None
    quarantined_at: datetime | None
    reason: str | None

    @property
    def acknowledged(self) -> bool:
        return self.sent_at is not None

    @property
    def quarantined(self) -> bool:
        return self.quarantined_at is not None

    def data(self) -> dict[str, Any]:
        """The event as JSON (what the consumers receive); a payload that is not a JSON object is answered as
        its text under `raw`."""
        try:
            decoded = msgspec.json.decode(self.payload)
        except msgspec.DecodeError:
            return {"raw": self.payload.decode(errors="replace")}
        return decoded if isinstance(decoded, dict) else {"raw": decoded}  # pyright: ignore[reportUnknownVariableType]

    @property
    def data_source_id(self) -> int | None:
        value = self.data().get("data_source_id")
        return value if isinstance(value, int) else None


@dataclass(frozen=True)
class QueueFilter:
    """What a listing of messages selects: sent or not (`acknowledged`, None: both), a topic (`q_name`), the
    data source the event is about, and for a `limited_to_source` caller its data sources."""

    acknowledged: bool | None = None
    topic: str | None = None
    data_source_id: int | None = None
    data_sources: tuple[int, ...] | None = None


class Rescheduled(msgspec.Struct, frozen=True, kw_only=True):
    """What a reschedule did: quarantined events put back in the outbox (under new ids), sent ones marked
    unsent (sent again), and those already waiting to be sent."""

    from_quarantine: dict[int, int]
    sent_again: list[int]
    already_waiting: list[int]
