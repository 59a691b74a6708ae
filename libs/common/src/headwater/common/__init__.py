"""Headwater's shared library: settings, logging, telemetry, Postgres helpers, event contracts, messaging."""
