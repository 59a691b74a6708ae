"""Connectors: one module per system a sync reads from or writes to; the registries map a kind to its connector."""
