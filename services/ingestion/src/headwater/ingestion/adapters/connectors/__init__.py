"""Connectors to the systems syncs read from and write to; `registry` maps a kind to its connector."""
