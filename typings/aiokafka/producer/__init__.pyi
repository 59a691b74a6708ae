from aiokafka.producer.producer import AIOKafkaProducer as AIOKafkaProducer

__all__ = ["AIOKafkaProducer"]
