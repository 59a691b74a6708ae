"""Headwater quality-alerting: anomaly detection, freshness and timeliness checks, alerts and notifications."""

SERVICE = "quality-alerting"
SCHEMA = "quality_alerting"
