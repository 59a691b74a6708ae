"""execution-tracking's internal HTTP API (called by the gateway), in the Watcher dialect."""
