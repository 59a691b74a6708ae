"""How the outside reaches execution-tracking: its internal HTTP API and its Kafka subscribers."""
