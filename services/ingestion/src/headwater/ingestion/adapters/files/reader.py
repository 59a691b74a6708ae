"""What every file reader yields, and the choice of reader from a file's bytes (not only its name)."""

from __future__ import annotations

import gzip
from pathlib import Path

import msgspec

from headwater.ingestion.domain.errors import UnreadableFile
from headwater.ingestion.domain.parsing import FileFormat, ParseSettings
from headwater.ingestion.service_layer.ports import FileReader

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"


def is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


def head(path: Path, size: int) -> bytes:
    """The first `size` bytes of the file's content (decompressed when it is gzip'd)."""
    packed = False
    try:
        packed = is_gzip(path)
        if packed:
            with gzip.open(path, "rb") as f:
                return f.read(size)
        with path.open("rb") as f:
            return f.read(size)
    except (OSError, EOFError) as e:
        if packed:
            raise UnreadableFile(f"the gzip data is truncated or corrupt: {e}") from e
        raise UnreadableFile(f"the file cannot be read: {e}") from e


def detect_format(path: Path, settings: ParseSettings) -> FileFormat:
    """Parquet by its magic bytes, JSON lines when the content starts with `{`, else delimited text (TSV when
    the name says .tsv or the settings' delimiter is a tab)."""
    start = head(path, 4096)
    if start.startswith(PARQUET_MAGIC):
        return FileFormat.PARQUET
    text = start.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        return FileFormat.JSONL
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".tsv") or settings.csv_delimiter == "\t":
        return FileFormat.TSV
    return FileFormat.CSV


def open_file(path: Path, settings: ParseSettings, file_format: FileFormat | None = None) -> FileReader:
    """The reader of `path`; raises `UnreadableFile` when the file is missing, empty or not of a known kind."""
    from headwater.ingestion.adapters.files.delimited import DelimitedReader
    from headwater.ingestion.adapters.files.jsonl import JsonLinesReader
    from headwater.ingestion.adapters.files.parquet import ParquetReader

    if not path.is_file():
        raise UnreadableFile(f"no file at {path}")
    if not head(path, 4096).removeprefix(b"\xef\xbb\xbf").strip():
        raise UnreadableFile("the file is empty: it holds neither a header nor rows")
    chosen = file_format or detect_format(path, settings)
    match chosen:
        case FileFormat.PARQUET:
            return ParquetReader(path, settings)
        case FileFormat.JSONL:
            return JsonLinesReader(path, settings)
        case FileFormat.TSV:
            return DelimitedReader(
                path, msgspec.structs.replace(settings, csv_delimiter="\t"), FileFormat.TSV
            )
        case FileFormat.CSV:
            return DelimitedReader(path, settings, FileFormat.CSV)


def unique_names(names: list[str]) -> list[str]:
    """The names, refused when one appears twice (which column would a field be read from?)."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in seen:
            raise UnreadableFile(
                f"the header holds {name!r} twice (columns {seen[name]} and {position}, 0-based): rename one, "
                "or drop one with ignore_column_ids"
            )
        seen[name] = position
    return names
