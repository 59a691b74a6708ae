"""The envelope every canonical event shares, and its JSON codec."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from headwater.common.ids import uuid7


def _now() -> datetime:
    return datetime.now(UTC)


class _TopicOfTag:
    """An event's topic: its tag without the version (`execution.ended.v1` goes to `execution.ended`), so that a
    new major version is published beside the old one on the same topic."""

    def __get__(self, event: object, cls: type[Event]) -> str:
        return str(cls.__struct_config__.tag).rsplit(".", 1)[0]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every canonical event: a UUIDv7 `event_id` and the UTC time it happened.

    Its `topic` (without the deployment's prefix) follows from its tag. Subclasses set `key_field`, the attribute
    whose value is the Kafka key (the aggregate that needs ordering).
    """

    topic = _TopicOfTag()
    key_field: ClassVar[str]

    event_id: uuid.UUID = msgspec.field(default_factory=uuid7)
    occurred_at: datetime = msgspec.field(default_factory=_now)

    @property
    def event_type(self) -> str:
        return type(self).__struct_config__.tag  # type: ignore[return-value]

    @property
    def key(self) -> bytes:
        return str(getattr(self, self.key_field)).encode()


class PipelineEvent(Event, frozen=True, kw_only=True):
    """An event about one pipeline, keyed by its id so that one pipeline's facts stay in order."""

    key_field: ClassVar[str] = "pipeline_id"

    pipeline_id: int


_encoder = msgspec.json.Encoder()


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode_event(data: bytes, type_: Any) -> Any:
    """Decode `data` as `type_` (one event class or a union of them); raises msgspec.ValidationError."""
    decoder = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(type_)
    try:
        return decoder.decode(data)
    except UnicodeDecodeError as exc:  # msgspec's word for bytes that are not UTF-8 inside a string
        raise msgspec.DecodeError(f"not valid UTF-8 ({exc.reason})") from exc
