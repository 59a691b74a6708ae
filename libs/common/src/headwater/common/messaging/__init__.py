"""Messaging: broker factory, transactional outbox + relay, idempotent consumer (inbox), dead letters."""
