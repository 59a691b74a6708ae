# Local stubs for aiokafka 0.14 (it ships no py.typed): only what Headwater uses, with the signatures of its
# source. Submodules without a stub here (admin, abc, coordinator, ...) resolve to aiokafka's own code.
#
# Headwater configures no key/value (de)serializers, so keys and values are bytes throughout: the
# `*_serializer`/`*_deserializer` parameters are deliberately left out, and records are ConsumerRecord[bytes, bytes].

from aiokafka.abc import ConsumerRebalanceListener as ConsumerRebalanceListener
from aiokafka.client import AIOKafkaClient as AIOKafkaClient
from aiokafka.consumer import AIOKafkaConsumer as AIOKafkaConsumer
from aiokafka.errors import ConsumerStoppedError as ConsumerStoppedError
from aiokafka.errors import IllegalOperation as IllegalOperation
from aiokafka.producer import AIOKafkaProducer as AIOKafkaProducer
from aiokafka.structs import ConsumerRecord as ConsumerRecord
from aiokafka.structs import OffsetAndMetadata as OffsetAndMetadata
from aiokafka.structs import OffsetAndTimestamp as OffsetAndTimestamp
from aiokafka.structs import TopicPartition as TopicPartition

__version__: str

__all__ = [
    "AIOKafkaClient",
    "AIOKafkaConsumer",
    "AIOKafkaProducer",
    "ConsumerRebalanceListener",
    "ConsumerRecord",
    "ConsumerStoppedError",
    "IllegalOperation",
    "OffsetAndMetadata",
    "OffsetAndTimestamp",
    "TopicPartition",
]
