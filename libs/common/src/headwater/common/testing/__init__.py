"""Helpers other packages' tests import: Kafka collectors, polling with a deadline."""

from headwater.common.testing.kafka import TopicCollector, produce
from headwater.common.testing.polling import eventually

__all__ = ["TopicCollector", "eventually", "produce"]
