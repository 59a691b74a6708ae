"""Adapters of quality-alerting to the outside world."""
