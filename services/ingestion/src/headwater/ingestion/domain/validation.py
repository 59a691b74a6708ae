"""Per-field rules of a dataset (003's validation info) and their vectorised check over an Arrow batch.

The rules have 003's JSON-Schema semantics: `json_schema_field_type` (string, email, integer, number, boolean,
array, object; a string with `json_schema_format="date-time"` is a datetime), `is_required`, `minimum` /
`maximum`, `limit_to_values` (an enum), `pattern` (on strings; RE2 syntax) and `to_include` (a field that is
not included is neither checked nor loaded).

`check_batch` never loops over rows in Python on its fast path: each field is cast and checked with
`pyarrow.compute` into a per-row failure code, and the codes of all fields are coalesced in field order, so each
bad row carries its *first* failing field. Only the bad rows (few) are turned into Python objects, to word
their reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

import msgspec
import numpy as np

from headwater.ingestion.arrow import Array, DataType, RecordBatch, pa, pc
from headwater.ingestion.domain.parsing import ParseSettings


class FieldType(StrEnum):
    """003's `JsonSchemaFieldType`."""

    STRING = "string"
    EMAIL = "email"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"


class AlertType(StrEnum):
    """Why a row (or a whole file) was refused; the `alert_type` of 003's alerts and of quarantined rows."""

    DATETIME_CASTING = "datetime_casting"
    INTEGER_CASTING = "integer_casting"
    NUMBER_CASTING = "number_casting"
    BOOLEAN_CASTING = "boolean_casting"
    OBJECT_CASTING = "object_casting"
    INVALID_EMAIL = "invalid_email"
    MISSING_REQUIRED_VALUE = "missing_required_value"
    MINIMUM_VIOLATION = "minimum_violation"
    MAXIMUM_VIOLATION = "maximum_violation"
    NOT_IN_LIMIT_TO_VALUES = "not_in_limit_to_values"
    PATTERN_MISMATCH = "pattern_mismatch"
    UNSTORABLE_CHARACTER = "unstorable_character"
    ROW_LEVEL_ISSUE = "row_level_issue"
    # Whole-file refusals (`UnreadableFile.alert_type`).
    UNREADABLE_FILE = "unreadable_file"
    UNEXPECTED_FIELD_NAME = "unexpected_field_name"
    MISSING_REQUIRED_FIELD = "missing_required_field"


DATE_TIME = "date-time"


class FieldRule(msgspec.Struct, frozen=True, kw_only=True):
    """The validation info of one dataset field, with 003's names."""

    field_name: str
    json_schema_field_type: FieldType = FieldType.STRING
    json_schema_format: Literal["date-time"] | None = None
    is_required: bool = False
    to_include: bool = True
    minimum: int | float | None = None
    maximum: int | float | None = None
    limit_to_values: tuple[str | int | float, ...] | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        if not self.field_name or "\x00" in self.field_name:
            raise ValueError("field_name must be a non-empty name without NUL characters")
        numeric = self.json_schema_field_type in (FieldType.INTEGER, FieldType.NUMBER)
        if (self.minimum is not None or self.maximum is not None) and not numeric:
            raise ValueError(f"{self.field_name}: minimum/maximum apply to integer and number fields only")
        if self.json_schema_format is not None and self.json_schema_field_type is not FieldType.STRING:
            raise ValueError(f"{self.field_name}: the date-time format applies to string fields only")
        if self.pattern is not None:
            if self.json_schema_field_type not in (FieldType.STRING, FieldType.EMAIL) or self.is_datetime:
                raise ValueError(f"{self.field_name}: pattern applies to string and email fields only")
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise ValueError(
                    f"{self.field_name}: pattern {self.pattern!r} is not a regular expression: {e}"
                ) from e

    @property
    def is_datetime(self) -> bool:
        return self.json_schema_format == DATE_TIME

    @property
    def arrow_type(self) -> DataType:
        """The Arrow type a good value of this field is cast to."""
        if self.is_datetime:
            return pa.timestamp("us", tz="UTC")
        match self.json_schema_field_type:
            case FieldType.INTEGER:
                return pa.int64()
            case FieldType.NUMBER:
                return pa.float64()
            case FieldType.BOOLEAN:
                return pa.bool_()
            case FieldType.ARRAY:
                return pa.list_(pa.string())
            case _:
                return pa.string()


class BadRow(msgspec.Struct, frozen=True):
    """A row refused by its first failing field: `position` is its index in the checked batch."""

    position: int
    field_name: str
    field_value: str | None
    msg: str
    alert_type: AlertType


class CheckedBatch(msgspec.Struct, frozen=True):
    """The good rows cast to their fields' types (included fields only, in rule order), where they sat in the
    checked batch, and the bad rows."""

    good: RecordBatch
    good_positions: Array
    bad: list[BadRow]


# Per-field failure codes; a row's code over all fields is `field index * _CODES + code`.
_CAST, _REQUIRED, _MINIMUM, _MAXIMUM, _NOT_IN_VALUES, _PATTERN, _NUL = 1, 2, 3, 4, 5, 6, 7
_CODES = 8

_INTEGER = r"^[+-]?\d{1,18}$"
_NUMBER = r"^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|(?i:inf|infinity|nan))$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_FRACTION = r"(?P<hms>\d{2}:\d{2}:\d{2})[.,](?P<fraction>\d{1,9})"
ISO_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M%z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
INFERRED_FORMATS: tuple[str, ...] = (
    *ISO_FORMATS,
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d-%m-%Y",
)
_UTC = pa.timestamp("us", tz="UTC")


def _text(column: Array) -> Array:
    if pa.types.is_string(column.type):
        return column
    if pa.types.is_large_string(column.type) or pa.types.is_null(column.type):
        return pc.cast(column, pa.string())
    if (
        pa.types.is_list(column.type)
        or pa.types.is_large_list(column.type)
        or pa.types.is_struct(column.type)
    ):
        return pa.array(
            [None if v is None else msgspec.json.encode(v).decode() for v in column.to_pylist()], pa.string()
        )
    return pc.cast(column, pa.string())


def _unsigned(text: Array) -> Array:
    """`text` without a leading `+` (Arrow's cast refuses it), replaced only in a batch where a value has one."""
    if pc.any(pc.starts_with(text, "+")).as_py():
        return pc.replace_substring_regex(text, r"^\+", "")
    return text


def _first(code: Array, failed: Array, value: int) -> Array:
    """`code` where a row already failed, else `value` where `failed`, else null."""
    take = pc.and_(pc.fill_null(failed, False), pc.is_null(code))
    return pc.if_else(take, pa.scalar(value, pa.int8()), code)


_ISO_ZONED = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$"
_DIRECTIVES = {
    "%Y": r"(?P<Y>\d{4})",
    "%m": r"(?P<m>\d{1,2})",
    "%d": r"(?P<d>\d{1,2})",
    "%y": r"\d{2}",
    "%H": r"\d{1,2}",
    "%I": r"\d{1,2}",
    "%M": r"\d{1,2}",
    "%S": r"\d{1,2}",
    "%j": r"\d{1,3}",
    "%z": r"(?:Z|[+-]\d{2}:?\d{2})",
    "%p": r"[AaPp][Mm]",
    "%b": r"[A-Za-z]+",
    "%B": r"[A-Za-z]+",
    "%a": r"[A-Za-z]+",
    "%A": r"[A-Za-z]+",
    "%%": "%",
}


def _format_regex(fmt: str) -> str:
    """A regular expression a text written in strptime `fmt` matches, with its day and month as groups."""
    parts: list[str] = []
    i = 0
    while i < len(fmt):
        directive = fmt[i : i + 2]
        if directive in _DIRECTIVES and directive not in parts:
            parts.append(_DIRECTIVES[directive])
            i += 2
        elif fmt[i] == "%":
            parts.append(".+?")
            i += 2
        else:
            parts.append(re.escape(fmt[i]))
            i += 1
    return "^" + "".join(parts) + "$"


def _scatter(n: int, parts: list[tuple[Array, Array]]) -> Array:
    """An array of `n` timestamps: each part's values where its mask is true, null elsewhere."""
    out = pa.nulls(n, _UTC)
    for mask, values in parts:
        out = pc.replace_with_mask(out, mask, values)
    return out


def _iso(text: Array, pattern: str, zoned: bool) -> tuple[Array, Array] | None:
    """ISO 8601 values matching `pattern`, cast by Arrow's ISO parser (which refuses impossible dates);
    None when one of them is impossible (the caller then tries them one format at a time)."""
    mask = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    subset = pc.replace_substring(text.filter(mask), "T", " ")
    try:
        values = pc.cast(subset, _UTC if zoned else pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return mask, values if zoned else pc.assume_timezone(values, "UTC")


def _by_formats(text: Array, formats: Sequence[str], *, infer: bool) -> Array:
    """Timestamps of `text` in the first of `formats` that parses each value (or, with `infer`, the one format
    parsing the most values); strptime's rolled-over impossible dates (Feb 30) are refused."""
    fraction = pc.extract_regex(text, _FRACTION).field("fraction")
    whole = pc.replace_substring_regex(text, _FRACTION, r"\1")
    parsed: list[Array] = []
    for fmt in formats:
        result = pc.strptime(whole, format=fmt, unit="us", error_is_null=True)
        if result.type.tz is None:
            result = pc.assume_timezone(result, "UTC")
        shape = pc.extract_regex(whole, _format_regex(fmt))
        naive = pc.cast(result, pa.timestamp("us"))  # the written wall time when the format has no offset
        same = pc.and_(pc.is_valid(shape), pc.is_valid(result))

        def written(group: str, shape: Array = shape, same: Array = same) -> Array:
            return pc.cast(pc.if_else(same, shape.field(group), pa.scalar(None, pa.string())), pa.int64())

        if "%d" in fmt and "%z" not in fmt:
            same = pc.and_(same, pc.equal(written("d"), pc.day(naive)))
        if "%m" in fmt and "%z" not in fmt:
            same = pc.and_(same, pc.equal(written("m"), pc.month(naive)))
        parsed.append(pc.if_else(pc.fill_null(same, False), result, pa.scalar(None, _UTC)))
    if infer and len(parsed) > 1:
        # One format per column (003's strictly_one_datetime_format_in_a_column): the one parsing the most.
        values = parsed[min(range(len(parsed)), key=lambda i: parsed[i].null_count)]
    else:
        values = pc.coalesce(*parsed) if len(parsed) > 1 else parsed[0]
    micros = pc.fill_null(
        pc.cast(pc.utf8_slice_codeunits(pc.utf8_rpad(fraction, 9, "0"), 0, 6), pa.int64()), 0
    )
    as_int = pc.add(pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64()), micros)
    return pc.cast(pc.cast(as_int, pa.timestamp("us")), _UTC)


def _datetime(text: Array, formats: Sequence[str], *, infer: bool) -> Array:
    """Timestamps (UTC; a value without offset is taken as UTC) of `text`, null where no format parses it.

    Without formats of the settings, ISO 8601 values go through Arrow's ISO cast (fast); the rest, and every
    value when the settings name formats, are tried format by format."""
    trimmed = pc.utf8_trim_whitespace(text)
    n = len(trimmed)
    parts: list[tuple[Array, Array]] = []
    rest = pc.is_valid(trimmed)
    if not formats and not infer:
        for pattern, zoned in ((_ISO_ZONED, True), (_ISO_NAIVE, False)):
            done = _iso(trimmed, pattern, zoned)
            if done is not None:
                parts.append(done)
                rest = pc.and_(rest, pc.invert(done[0]))
    if pc.any(rest).as_py():
        chosen = INFERRED_FORMATS if infer else (formats or ISO_FORMATS)
        spaced = pc.replace_substring_regex(trimmed.filter(rest), r"^(\d{4}-\d{2}-\d{2})T", r"\1 ")
        parts.append((rest, _by_formats(spaced, chosen, infer=infer)))
    return _scatter(n, parts)


def _array(text: Array, delimiters: Sequence[str]) -> Array:
    trimmed = pc.utf8_trim_whitespace(text)
    is_json = pc.and_(pc.starts_with(trimmed, "["), pc.ends_with(trimmed, "]"))
    inner = pc.if_else(is_json, pc.utf8_slice_codeunits(trimmed, 1, -1), trimmed)
    split_json = pc.split_pattern(inner, ",")
    split_plain = pc.split_pattern_regex(inner, "|".join(re.escape(d) for d in delimiters))
    lists = pc.if_else(is_json, split_json, split_plain)
    items = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    items = pc.replace_substring_regex(items, r'^"(.*)"$', r"\1")
    offsets = lists.offsets
    rebuilt = pa.ListArray.from_arrays(offsets, items, mask=pc.is_null(lists))
    empty = pc.equal(pc.utf8_trim_whitespace(inner), "")
    return pc.if_else(pc.fill_null(empty, False), pa.scalar([], pa.list_(pa.string())), rebuilt)


def _is_json_object(text: Array) -> Array:
    out: list[bool | None] = []
    for value in text.to_pylist():
        if value is None:
            out.append(None)
            continue
        try:
            out.append(isinstance(msgspec.json.decode(value), dict))
        except msgspec.DecodeError:
            out.append(False)
    return pa.array(out, pa.bool_())


def _check_field(rule: FieldRule, column: Array, settings: ParseSettings) -> tuple[Array, Array]:
    """The field's values cast to `rule.arrow_type` and a failure code per row (null where the value is good)."""
    n = len(column)
    kind = rule.json_schema_field_type
    target = rule.arrow_type
    text = _text(column)
    nulls = pa.array(settings.null_values_for(rule.field_name), pa.string())
    plain = kind in (FieldType.STRING, FieldType.EMAIL, FieldType.OBJECT) and not rule.is_datetime
    compared = text if plain else pc.utf8_trim_whitespace(text)
    present = pc.invert(
        pc.or_kleene(pc.is_null(text), pc.fill_null(pc.is_in(compared, value_set=nulls), False))
    )
    code = pa.nulls(n, pa.int8())
    if rule.is_required:
        code = _first(code, pc.invert(present), _REQUIRED)
    if column.type == target and target != pa.string():  # typed input (Parquet) of the field's type
        values = column
        ok = pa.repeat(True, n)
    elif rule.is_datetime:
        formats = settings.datetime_formats_for(rule.field_name)
        infer = rule.field_name in settings.infer_datetime_for_columns_override and not formats
        values = _datetime(text, INFERRED_FORMATS if infer else formats, infer=infer)
        ok = pc.is_valid(values)
    else:
        match kind:
            case FieldType.INTEGER:
                ok = pc.match_substring_regex(compared, _INTEGER)
                unsigned = _unsigned(compared)
                values = pc.cast(pc.if_else(ok, unsigned, pa.scalar(None, pa.string())), pa.int64())
            case FieldType.NUMBER:
                ok = pc.match_substring_regex(compared, _NUMBER)
                unsigned = _unsigned(compared)
                values = pc.cast(pc.if_else(ok, unsigned, pa.scalar(None, pa.string())), pa.float64())
            case FieldType.BOOLEAN:
                lowered = pc.utf8_lower(compared)
                trues = pa.array([v.lower() for v in settings.boolean_true_override], pa.string())
                falses = pa.array([v.lower() for v in settings.boolean_false_override], pa.string())
                is_true = pc.is_in(lowered, value_set=trues)
                ok = pc.or_(is_true, pc.is_in(lowered, value_set=falses))
                values = pc.if_else(ok, is_true, pa.scalar(None, pa.bool_()))
            case FieldType.ARRAY:
                values = _array(text, settings.array_delimiters_override)
                ok = pa.repeat(True, n)
            case FieldType.OBJECT:
                ok = _is_json_object(text)
                values = text
            case FieldType.EMAIL:
                ok = pc.match_substring_regex(text, _EMAIL)
                values = text
            case FieldType.STRING:
                ok = pa.repeat(True, n)
                values = text
    code = _first(code, pc.and_(present, pc.invert(pc.fill_null(ok, False))), _CAST)
    if kind in (FieldType.INTEGER, FieldType.NUMBER):
        if rule.minimum is not None:
            code = _first(code, pc.less(values, rule.minimum), _MINIMUM)
        if rule.maximum is not None:
            code = _first(code, pc.greater(values, rule.maximum), _MAXIMUM)
    if rule.limit_to_values is not None:
        if kind is FieldType.ARRAY:
            items = pc.list_flatten(values)
            allowed = pa.array([str(v) for v in rule.limit_to_values], pa.string())
            outside = pc.invert(pc.is_in(items, value_set=allowed))
            parents = pc.filter(pc.list_parent_indices(values), outside)
            rows = pc.is_in(pa.array(np.arange(n, dtype=np.int64)), value_set=pc.cast(parents, pa.int64()))
            code = _first(code, rows, _NOT_IN_VALUES)
        elif target in (pa.int64(), pa.float64(), pa.string(), pa.bool_()):
            allowed = pc.cast(
                pa.array([str(v) for v in rule.limit_to_values], pa.string()), target, safe=False
            )
            code = _first(
                code, pc.and_(present, pc.invert(pc.is_in(values, value_set=allowed))), _NOT_IN_VALUES
            )
    if rule.pattern is not None:
        matched = pc.match_substring_regex(values, rule.pattern)
        code = _first(code, pc.and_(present, pc.invert(matched)), _PATTERN)
    if target == pa.string():
        code = _first(code, pc.match_substring(values, "\x00"), _NUL)
    elif kind is FieldType.ARRAY:
        nul_items = pc.match_substring(pc.list_flatten(values), "\x00")
        parents = pc.filter(pc.list_parent_indices(values), nul_items)
        code = _first(
            code,
            pc.is_in(pa.array(np.arange(n, dtype=np.int64)), value_set=pc.cast(parents, pa.int64())),
            _NUL,
        )
    values = pc.if_else(present, values, pa.scalar(None, target))
    return values, code


def _cast_alert(rule: FieldRule) -> AlertType:
    if rule.is_datetime:
        return AlertType.DATETIME_CASTING
    return {
        FieldType.INTEGER: AlertType.INTEGER_CASTING,
        FieldType.NUMBER: AlertType.NUMBER_CASTING,
        FieldType.BOOLEAN: AlertType.BOOLEAN_CASTING,
        FieldType.OBJECT: AlertType.OBJECT_CASTING,
        FieldType.EMAIL: AlertType.INVALID_EMAIL,
    }.get(rule.json_schema_field_type, AlertType.OBJECT_CASTING)


def _explain(rule: FieldRule, code: int, value: str | None, settings: ParseSettings) -> tuple[str, AlertType]:
    name = rule.field_name
    shown = repr(value if value is None or len(value) <= 200 else value[:200] + "...")
    match code:
        case 1:
            alert = _cast_alert(rule)
            if rule.is_datetime:
                formats = settings.datetime_formats_for(name) or ISO_FORMATS
                return f"{name}: {shown} is not a date-time in any of the formats {list(formats)}", alert
            return f"{name}: {shown} is not a valid {rule.json_schema_field_type.value}", alert
        case 2:
            return f"{name}: a value is required", AlertType.MISSING_REQUIRED_VALUE
        case 3:
            return f"{name}: {shown} is below the minimum {rule.minimum}", AlertType.MINIMUM_VIOLATION
        case 4:
            return f"{name}: {shown} is above the maximum {rule.maximum}", AlertType.MAXIMUM_VIOLATION
        case 5:
            allowed = list(rule.limit_to_values or ())
            return f"{name}: {shown} is not one of {allowed}", AlertType.NOT_IN_LIMIT_TO_VALUES
        case 6:
            return f"{name}: {shown} does not match the pattern {rule.pattern!r}", AlertType.PATTERN_MISMATCH
        case _:
            return (
                f"{name}: the value holds a NUL character, which cannot be stored",
                AlertType.UNSTORABLE_CHARACTER,
            )


def check_batch(batch: RecordBatch, rules: Sequence[FieldRule], settings: ParseSettings) -> CheckedBatch:
    """Casts and checks every included field of `batch` (a field missing from the batch is all null)."""
    n = batch.num_rows
    included = [rule for rule in rules if rule.to_include]
    names = set(batch.schema.names)
    columns: list[Array] = []
    row_code = pa.nulls(n, pa.int32())
    for index, rule in enumerate(included):
        raw = batch.column(rule.field_name) if rule.field_name in names else pa.nulls(n, pa.string())
        values, code = _check_field(rule, raw, settings)
        columns.append(values)
        field_code = pc.add(pc.cast(code, pa.int32()), index * _CODES)
        row_code = pc.coalesce(row_code, field_code)
    good_mask = pc.is_null(row_code)
    positions = pa.array(np.arange(n, dtype=np.int64))
    schema = pa.schema([pa.field(rule.field_name, rule.arrow_type) for rule in included])
    good = pa.RecordBatch.from_arrays(columns, schema=schema).filter(good_mask)
    good_positions = positions.filter(good_mask)
    if row_code.null_count == n:
        return CheckedBatch(good, good_positions, [])
    bad_positions = positions.filter(pc.invert(good_mask))
    bad_codes = row_code.filter(pc.invert(good_mask)).to_pylist()
    bad: list[BadRow] = []
    texts: dict[str, list[str | None]] = {}
    for i, (position, combined) in enumerate(zip(bad_positions.to_pylist(), bad_codes, strict=True)):
        assert position is not None
        assert combined is not None
        rule = included[int(combined) // _CODES]
        if rule.field_name not in texts:
            raw = batch.column(rule.field_name) if rule.field_name in names else pa.nulls(n, pa.string())
            texts[rule.field_name] = _text(raw).take(bad_positions).to_pylist()
        value = texts[rule.field_name][i]
        msg, alert = _explain(rule, int(combined) % _CODES, value, settings)
        bad.append(BadRow(position, rule.field_name, value, msg, alert))
    return CheckedBatch(good, good_positions, bad)
