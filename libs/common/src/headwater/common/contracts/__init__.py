"""Contracts of the internal HTTP APIs: request and response bodies shared by the gateway (the caller, which
validates and documents them) and the owning service (which serves them). One module per dialect."""
