"""The API dialects the gateway speaks, one package each, all on the same internal services."""
