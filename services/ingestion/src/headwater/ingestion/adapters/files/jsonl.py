"""JSON-lines files: one object per line, values kept as text (nested values as JSON), read in bounded batches."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from io import BufferedReader
from pathlib import Path
from typing import cast

import msgspec

from headwater.ingestion.adapters.files.reader import is_gzip, unique_names
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.errors import UnreadableFile
from headwater.ingestion.domain.parsing import FileFormat, ParseSettings
from headwater.ingestion.domain.records import RawBatch, RejectedRow


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return msgspec.json.encode(value).decode()


class JsonLinesReader:
    """Each non-blank line an object; `fields_to_expand_override` objects flattened into `<field>_<key>`."""

    def __init__(self, path: Path, settings: ParseSettings) -> None:
        self._path = path
        self._settings = settings

    @property
    def file_format(self) -> FileFormat:
        return FileFormat.JSONL

    def _open(self) -> gzip.GzipFile | BufferedReader:
        return gzip.open(self._path, "rb") if is_gzip(self._path) else self._path.open("rb")

    def _row(self, line: bytes) -> dict[str, str | None]:
        s = self._settings
        text = line.decode(s.encoding_probably).removeprefix("\ufeff")
        value: object = msgspec.json.decode(text)
        if not isinstance(value, dict):
            raise ValueError(f"the line holds a JSON {type(value).__name__}, not an object")
        row: dict[str, str | None] = {}
        for name, item in cast("dict[str, object]", value).items():
            if name in s.fields_to_expand_override and isinstance(item, dict):
                for sub, sub_item in cast("dict[str, object]", item).items():
                    row[f"{name}_{sub}"] = _text(sub_item)
            else:
                row[name] = _text(item)
        return row

    def batches(self, batch_rows: int) -> Iterator[RawBatch]:
        s = self._settings
        ignored = set(s.ignore_column_names_override)
        rows: list[dict[str, str | None]] = []
        numbers: list[int] = []
        refused: list[RejectedRow] = []
        try:
            with self._open() as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = self._row(line)
                    except UnicodeDecodeError as e:
                        raise UnreadableFile(
                            f"line {number} is not valid {s.encoding_probably}; set encoding_probably to the "
                            "file's encoding (e.g. latin-1)"
                        ) from e
                    except (msgspec.DecodeError, ValueError) as e:
                        if not s.quarantine_row_if_row_level_issue_override:
                            raise UnreadableFile(
                                f"line {number} is not a JSON object: {e}", alert_type="row_level_issue"
                            ) from e
                        shown = line.decode(s.encoding_probably, errors="replace").rstrip("\r\n")
                        refused.append(RejectedRow(number, shown, f"not a JSON object: {e}"))
                        continue
                    rows.append({k: v for k, v in row.items() if k not in ignored})
                    numbers.append(number)
                    if len(rows) >= batch_rows:
                        yield self._batch(rows, numbers, refused)
                        rows, numbers, refused = [], [], []
        except (OSError, EOFError) as e:
            raise UnreadableFile(f"the gzip data is truncated or corrupt: {e}") from e
        if rows or refused:
            yield self._batch(rows, numbers, refused)

    @staticmethod
    def _batch(rows: list[dict[str, str | None]], numbers: list[int], refused: list[RejectedRow]) -> RawBatch:
        names = unique_names(list(dict.fromkeys(name for row in rows for name in row)))
        columns = [pa.array([row.get(name) for row in rows], pa.string()) for name in names]
        batch = pa.RecordBatch.from_arrays(columns, names=names)
        return RawBatch(batch, pa.array(numbers, pa.int64()), list(refused))
