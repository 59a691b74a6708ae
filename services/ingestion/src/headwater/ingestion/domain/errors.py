"""Errors of the ingestion engine that a user can act on: each says what is wrong and what to change."""

from __future__ import annotations


class UnreadableFile(Exception):
    """The whole file cannot be ingested (not one row of it is loaded); `reason` says why and what to do.

    `alert_type` is the 003 alert type the service raises for it (`unreadable_file`, `unexpected_field_name`,
    `missing_required_field`, ...)."""

    def __init__(self, reason: str, *, alert_type: str = "unreadable_file") -> None:
        super().__init__(reason)
        self.reason = reason
        self.alert_type = alert_type


class InvalidQuery(ValueError):
    """A data page asked for something the table does not have (an unknown `order_by` column, page < 1, ...)."""
