"""Helpers other packages' tests import: Kafka collectors and a fake producer, polling with a deadline, an
in-memory unit of work."""

from headwater.common.testing.kafka import FakeProducer, TopicCollector, produce
from headwater.common.testing.polling import eventually
from headwater.common.testing.unit_of_work import FakeUnitOfWork, NotFaked

__all__ = [
    "FakeProducer",
    "FakeUnitOfWork",
    "NotFaked",
    "TopicCollector",
    "eventually",
    "produce",
]
