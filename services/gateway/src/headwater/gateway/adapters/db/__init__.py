"""The `gateway` schema: identity (users, sessions, API tokens, projects), login attempts and the audit log."""
