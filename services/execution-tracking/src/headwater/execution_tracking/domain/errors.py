"""Errors of the domain rules; the service layer turns them into its own (422 over HTTP, a dead letter)."""

from __future__ import annotations


class RuleViolation(ValueError):
    """Input that breaks a rule of the domain; the message says which."""
