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


class RepositoryError(Exception):
    """A write the store refused because of the data, raised by a repository in the service's own words (never
    a database exception): the use case decides what it means for its caller."""


class Duplicate(RepositoryError):
    """The row would repeat one that must be unique (a name, a run id); `constraint` names the rule when known."""

    def __init__(self, detail: str = "duplicate", *, constraint: str | None = None) -> None:
        super().__init__(detail)
        self.constraint = constraint


class MissingReference(RepositoryError):
    """The row refers to one that does not exist (or was deleted meanwhile); `constraint` names the reference."""

    def __init__(self, detail: str = "missing reference", *, constraint: str | None = None) -> None:
        super().__init__(detail)
        self.constraint = constraint
