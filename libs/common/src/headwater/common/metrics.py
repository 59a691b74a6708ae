"""Prometheus metrics several services share (one definition, so the whole suite can import every service)."""

from __future__ import annotations

from prometheus_client import Counter

RETENTION_DELETED = Counter("headwater_retention_deleted_total", "Rows deleted by retention", ["table"])
RETENTION_REQUESTS = Counter(
    "headwater_retention_requests_total", "retention.requested events applied", ["outcome"]
)
