"""Errors a use case raises for its caller to translate (HTTP status, dead letter); shared by every service."""

from __future__ import annotations


class UseCaseError(Exception):
    """A request that cannot be carried out as asked; `status` is the HTTP status it maps to and `headers`
    what the answer must carry besides (e.g. `Retry-After` of a 429)."""

    status = 400

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class NotFound(UseCaseError):
    status = 404


class Conflict(UseCaseError):
    status = 409


class Invalid(UseCaseError):
    status = 422
