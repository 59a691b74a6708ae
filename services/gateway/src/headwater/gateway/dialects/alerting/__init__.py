"""Our alerting additions under /api/v1: notification channels and their deliveries."""
