"""The Watcher dialect (spec 000) at the gateway's root paths."""
