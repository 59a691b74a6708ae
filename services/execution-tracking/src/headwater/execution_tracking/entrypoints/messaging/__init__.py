"""execution-tracking's Kafka side: subscribers and the outbox relay, run by the `worker` process."""
