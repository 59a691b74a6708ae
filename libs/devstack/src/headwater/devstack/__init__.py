"""The embedded runtime behind `make up` and the test suite: Postgres, the tansu broker, topics, roles,
migrations and the service processes, all on one machine without Docker."""
