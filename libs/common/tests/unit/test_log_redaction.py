"""Secrets never reach a log line: fields named like one are blanked, credentials inside text are masked."""

from __future__ import annotations

from headwater.common.logging import _redact_secrets, redact


def test_fields_named_like_secrets_are_blanked_but_ids_are_kept() -> None:
    event = _redact_secrets(
        None,
        "info",
        {
            "event": "x",
            "password": "p",
            "raw_password2": "p",
            "access_token": "t",
            "token_id": "abc",
            "user": "u",
        },
    )
    assert event == {
        "event": "x",
        "password": "[redacted]",
        "raw_password2": "[redacted]",
        "access_token": "[redacted]",
        "token_id": "abc",
        "user": "u",
    }


def test_credentials_inside_text_are_masked() -> None:
    text = (
        "headers: Authorization: Bearer abc.def-123; token hw_Zx81_-aaaaaaaaaaaa; "
        "jwt eyJhbGciOi.eyJzdWIi.c2ln; dsn postgresql://gateway:pa55@db:5432/headwater"
    )
    assert redact(text) == (
        "headers: Authorization: Bearer [redacted]; token [redacted]; "
        "jwt [redacted]; dsn postgresql://gateway:[redacted]@db:5432/headwater"
    )


def test_exception_text_is_masked_too() -> None:
    event = _redact_secrets(
        None, "error", {"event": "boom", "exception": "ValueError: Bearer hw_secretsecret1"}
    )
    assert event["exception"] == "ValueError: Bearer [redacted]"
