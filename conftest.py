"""Session-wide fixtures: the isolated Postgres and broker every integration and end-to-end test uses."""

pytest_plugins = ["headwater.devstack.testing"]
