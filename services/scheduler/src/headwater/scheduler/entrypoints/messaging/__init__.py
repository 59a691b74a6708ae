"""Kafka subscribers and the worker process."""
