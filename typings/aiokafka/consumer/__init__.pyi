from aiokafka.consumer.consumer import AIOKafkaConsumer as AIOKafkaConsumer

__all__ = ["AIOKafkaConsumer"]
