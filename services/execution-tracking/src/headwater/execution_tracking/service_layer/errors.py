"""Errors a use case raises for its caller to translate (HTTP status, dead letter)."""

from headwater.common.errors import Conflict, Invalid, NotFound, UseCaseError

__all__ = ["Conflict", "Invalid", "NotFound", "UseCaseError"]
