"""Errors a use case raises for its caller to translate (HTTP status, dead letter); shared by every service."""

from __future__ import annotations


class UseCaseError(Exception):
    """A request that cannot be carried out as asked; `status` is the HTTP status it maps to."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(UseCaseError):
    status = 404


class Conflict(UseCaseError):
    status = 409


class Invalid(UseCaseError):
    status = 422
