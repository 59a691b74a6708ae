"""The internal HTTP API."""
