"""Consumer lag read from the broker: for each consumer group, end offsets minus committed offsets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.common.messaging.topics import prefixed


async def consumer_lag(
    bootstrap_servers: str, groups: Mapping[str, Sequence[str]], *, topic_prefix: str = ""
) -> dict[str, int]:
    """Messages each group has yet to process, over the topics it consumes.

    A partition the group never committed counts from its first offset (the groups start from the earliest).
    Reads committed offsets per partition through a consumer that never joins the group, so measuring does not
    disturb the consumers being measured.
    """
    lag: dict[str, int] = {}
    for group, topics in groups.items():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            available = await consumer.topics()
            partitions = [
                TopicPartition(name, p)
                for name in (prefixed(topic_prefix, t) for t in topics)
                if name in available
                for p in sorted(consumer.partitions_for_topic(name) or ())
            ]
            if not partitions:
                lag[group] = 0
                continue
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            total = 0
            for tp in partitions:
                committed = await consumer.committed(tp)
                position = max(committed or 0, starts[tp])
                total += max(0, ends[tp] - position)
            lag[group] = total
        finally:
            await consumer.stop()
    return lag
