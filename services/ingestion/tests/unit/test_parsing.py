"""Parse settings: 003's names and defaults, refused when they cannot work, and the columns they keep."""

from __future__ import annotations

import msgspec
import pytest

from headwater.ingestion.domain.parsing import DEFAULT_NULL_VALUES, ParseSettings


def test_defaults_and_003_names_decode_from_a_data_source() -> None:
    settings = msgspec.json.decode(
        b'{"csv_delimiter": ";", "encoding_probably": "latin-1", "null_values_override": ["-"],'
        b' "null_values_per_column_override": {"city": ["?"]}, "boolean_true_override": ["si"],'
        b' "datetime_formats_per_column_override": {"born": ["%d/%m/%Y"]}, "s3_bucket": "ignored here"}',
        type=ParseSettings,
    )
    assert (settings.csv_delimiter, settings.encoding_probably, settings.csv_quotechar) == (
        ";",
        "latin-1",
        '"',
    )
    assert settings.null_values_for("city") == ("?",)
    assert settings.null_values_for("other") == ("-",)
    assert settings.datetime_formats_for("born") == ("%d/%m/%Y",)
    assert settings.datetime_formats_for("other") == ()
    assert ParseSettings().null_values_for("x") == DEFAULT_NULL_VALUES
    assert settings.quarantine_row_if_row_level_issue_override is True


@pytest.mark.parametrize(
    "fields",
    [
        {"csv_delimiter": ";;"},
        {"csv_quotechar": ""},
        {"csv_escapechar": "ab"},
        {"ignore_column_ids": ("first",)},
        {"array_delimiters_override": ("",)},
        {"chunk_size_to_read_for_header": 10},
    ],
)
def test_settings_that_cannot_work_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises((ValueError, msgspec.ValidationError)):
        msgspec.convert(fields, ParseSettings)


def test_kept_columns_drop_ignored_positions_and_names() -> None:
    settings = ParseSettings(ignore_column_ids=("0",), ignore_column_names_override=("secret",))
    assert settings.kept_columns(["rownum", "id", "secret", "name"]) == [1, 3]
