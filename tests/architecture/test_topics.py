"""What each service consumes is what its subscribers subscribe to; the lag monitor's default watches exactly
that, and every topic consumed is one the deployment creates."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from headwater.common.messaging.topics import all_topics, parse_consumer_groups
from headwater.execution_tracking.entrypoints.messaging.subscribers import (
    register_subscribers as execution_tracking_subscribers,
)
from headwater.execution_tracking.settings import Settings as ExecutionTrackingSettings
from headwater.quality_alerting.entrypoints.messaging.subscribers import (
    register_subscribers as quality_alerting_subscribers,
)
from headwater.quality_alerting.settings import Settings as QualityAlertingSettings


def consumed(register: object, settings: object) -> set[str]:
    broker = KafkaBroker()
    register(broker, settings=settings, uow_factory=lambda: None, producer=AIOKafkaProducer)  # type: ignore[operator]
    return {topic.name for subscriber in broker.subscribers for topic in subscriber.topics}  # type: ignore[attr-defined]


def test_the_lag_monitor_watches_what_each_group_consumes() -> None:
    et, qa = ExecutionTrackingSettings(), QualityAlertingSettings()
    actual = {
        et.consumer_group: consumed(execution_tracking_subscribers, et),
        qa.consumer_group: consumed(quality_alerting_subscribers, qa),
    }
    monitored = {
        group: set(topics) for group, topics in parse_consumer_groups(qa.monitored_consumer_groups).items()
    }
    assert monitored == actual


def test_every_consumed_topic_is_created() -> None:
    for register, settings in (
        (execution_tracking_subscribers, ExecutionTrackingSettings()),
        (quality_alerting_subscribers, QualityAlertingSettings()),
    ):
        assert consumed(register, settings) <= set(all_topics())


def test_a_malformed_group_list_is_refused_with_the_entry() -> None:
    import pytest

    assert parse_consumer_groups(" a=x y ; b=z; ") == {"a": ("x", "y"), "b": ("z",)}
    with pytest.raises(ValueError, match="'a'"):
        parse_consumer_groups("a")
