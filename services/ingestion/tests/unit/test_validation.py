"""Field rules (003's JSON-Schema semantics) checked column by column, vectorised, first failing field wins."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.domain.validation import AlertType, FieldRule, FieldType, check_batch


def check(values: list[str | None], rule: FieldRule, settings: ParseSettings | None = None):  # type: ignore[no-untyped-def]
    batch = pa.RecordBatch.from_pydict({rule.field_name: pa.array(values, pa.string())})
    return check_batch(batch, [rule], settings or ParseSettings())


def outcome(values: list[str | None], rule: FieldRule, settings: ParseSettings | None = None):  # type: ignore[no-untyped-def]
    """The good values and the bad (position, alert type) pairs."""
    result = check(values, rule, settings)
    return result.good.column(0).to_pylist(), [(b.position, b.alert_type) for b in result.bad]


def test_integer_casting_nulls_and_bounds() -> None:
    rule = FieldRule(field_name="n", json_schema_field_type=FieldType.INTEGER, minimum=-5, maximum=10)
    good, bad = outcome(["1", " -5 ", "", "NULL", "x", "1.5", "11", "-6", "+3"], rule)
    assert good == [1, -5, None, None, 3]
    assert bad == [
        (4, AlertType.INTEGER_CASTING),
        (5, AlertType.INTEGER_CASTING),
        (6, AlertType.MAXIMUM_VIOLATION),
        (7, AlertType.MINIMUM_VIOLATION),
    ]


def test_number_casting() -> None:
    rule = FieldRule(field_name="x", json_schema_field_type=FieldType.NUMBER)
    good, bad = outcome(["1.5", "-2e3", ".5", "7", "1,5", "abc"], rule)
    assert good == [1.5, -2000.0, 0.5, 7.0]
    assert bad == [(4, AlertType.NUMBER_CASTING), (5, AlertType.NUMBER_CASTING)]


def test_booleans_follow_the_settings_case_insensitively() -> None:
    rule = FieldRule(field_name="b", json_schema_field_type=FieldType.BOOLEAN)
    assert outcome(["Yes", "no", "TRUE", "0", "maybe"], rule) == (
        [True, False, True, False],
        [(4, AlertType.BOOLEAN_CASTING)],
    )
    custom = ParseSettings(boolean_true_override=("si",), boolean_false_override=("non",))
    assert outcome(["SI", "non", "yes"], rule, custom) == ([True, False], [(2, AlertType.BOOLEAN_CASTING)])


def test_datetimes_iso_by_default_with_fractions_and_offsets() -> None:
    rule = FieldRule(field_name="t", json_schema_format="date-time")
    good, bad = outcome(
        ["2024-03-01T10:20:30.250Z", "2024-03-01 12:20:30+02:00", "2024-03-01", "01/03/2024", "2024-02-30"],
        rule,
    )
    assert good == [
        datetime(2024, 3, 1, 10, 20, 30, 250000, tzinfo=UTC),
        datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC),
        datetime(2024, 3, 1, tzinfo=UTC),
    ]
    assert bad == [(3, AlertType.DATETIME_CASTING), (4, AlertType.DATETIME_CASTING)]


def test_datetime_formats_of_the_settings_and_inference() -> None:
    rule = FieldRule(field_name="t", json_schema_format="date-time")
    formats = ParseSettings(datetime_formats_per_column_override={"t": ("%d/%m/%Y",)})
    assert outcome(["01/03/2024"], rule, formats)[0] == [datetime(2024, 3, 1, tzinfo=UTC)]
    inferred = ParseSettings(infer_datetime_for_columns_override=("t",))
    good, bad = outcome(["25/12/2024", "01/03/2024", "2024-13-01"], rule, inferred)
    assert good == [datetime(2024, 12, 25, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)]
    assert bad == [(2, AlertType.DATETIME_CASTING)]


def test_required_limit_to_values_pattern_and_email() -> None:
    required = FieldRule(field_name="s", is_required=True, limit_to_values=("a", "b"))
    assert outcome(["a", "", None, "c"], required)[1] == [
        (1, AlertType.MISSING_REQUIRED_VALUE),
        (2, AlertType.MISSING_REQUIRED_VALUE),
        (3, AlertType.NOT_IN_LIMIT_TO_VALUES),
    ]
    numbers = FieldRule(field_name="n", json_schema_field_type=FieldType.INTEGER, limit_to_values=(1, 2))
    assert outcome(["1", "3"], numbers)[1] == [(1, AlertType.NOT_IN_LIMIT_TO_VALUES)]
    pattern = FieldRule(field_name="z", pattern=r"^\d{5}$")
    assert outcome(["90007", "9000"], pattern)[1] == [(1, AlertType.PATTERN_MISMATCH)]
    email = FieldRule(field_name="e", json_schema_field_type=FieldType.EMAIL)
    assert outcome(["a@b.io", "nope"], email)[1] == [(1, AlertType.INVALID_EMAIL)]


def test_arrays_split_on_delimiters_or_read_as_json_and_check_each_item() -> None:
    rule = FieldRule(field_name="a", json_schema_field_type=FieldType.ARRAY, limit_to_values=("x", "y", "z"))
    good, bad = outcome(["x|y", '["z", "x"]', "[]", "", "x|w"], rule)
    assert good == [["x", "y"], ["z", "x"], [], None]
    assert bad == [(4, AlertType.NOT_IN_LIMIT_TO_VALUES)]


def test_objects_must_be_json_objects() -> None:
    rule = FieldRule(field_name="o", json_schema_field_type=FieldType.OBJECT)
    assert outcome(['{"k": 1}', "[1]", "{bad"], rule)[1] == [
        (1, AlertType.OBJECT_CASTING),
        (2, AlertType.OBJECT_CASTING),
    ]


def test_the_first_failing_field_names_the_row_and_excluded_fields_are_neither_checked_nor_kept() -> None:
    rules = [
        FieldRule(field_name="a", json_schema_field_type=FieldType.INTEGER),
        FieldRule(field_name="b", json_schema_field_type=FieldType.INTEGER),
        FieldRule(field_name="c", json_schema_field_type=FieldType.INTEGER, to_include=False),
    ]
    batch = pa.RecordBatch.from_pydict({"a": ["1", "x", "2"], "b": ["y", "z", "3"], "c": ["no", "no", "no"]})
    result = check_batch(batch, rules, ParseSettings())
    assert [(b.position, b.field_name, b.field_value) for b in result.bad] == [(0, "b", "y"), (1, "a", "x")]
    assert "'x' is not a valid integer" in result.bad[1].msg
    assert result.good.schema.names == ["a", "b"]
    assert result.good.to_pylist() == [{"a": 2, "b": 3}]
    assert result.good_positions.to_pylist() == [2]


def test_nul_characters_are_refused_and_typed_columns_pass_through() -> None:
    assert outcome(["ok", "a\x00b"], FieldRule(field_name="s"))[1] == [(1, AlertType.UNSTORABLE_CHARACTER)]
    batch = pa.RecordBatch.from_pydict({"n": pa.array([1, None], pa.int64())})
    rule = FieldRule(field_name="n", json_schema_field_type=FieldType.INTEGER, is_required=True)
    result = check_batch(batch, [rule], ParseSettings())
    assert result.good.column(0).to_pylist() == [1]
    assert [b.alert_type for b in result.bad] == [AlertType.MISSING_REQUIRED_VALUE]


@pytest.mark.parametrize(
    "fields",
    [
        {"field_name": "s", "minimum": 1},
        {"field_name": "n", "json_schema_field_type": "integer", "pattern": "x"},
        {"field_name": "s", "pattern": "("},
        {"field_name": "n", "json_schema_field_type": "integer", "json_schema_format": "date-time"},
        {"field_name": ""},
    ],
)
def test_rules_that_make_no_sense_are_refused(fields: dict[str, object]) -> None:
    import msgspec

    with pytest.raises((ValueError, msgspec.ValidationError)):
        msgspec.convert(fields, FieldRule)
