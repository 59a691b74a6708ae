"""CSV and TSV files through pyarrow's streaming CSV reader, with the data source's parse settings."""

from __future__ import annotations

import codecs
import csv
import functools
import io
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from headwater.ingestion.adapters.files.reader import head, is_gzip, unique_names
from headwater.ingestion.arrow import Array, RecordBatch, pa, pa_csv, pc
from headwater.ingestion.domain.errors import UnreadableFile
from headwater.ingestion.domain.parsing import FileFormat, ParseSettings
from headwater.ingestion.domain.records import RawBatch, RejectedRow

# A record (one row) may be up to this long. Larger blocks parse no faster (4 MiB ones faster than 16 MiB here).
BLOCK_SIZE = 4 << 20
# Blocks read from the file and not yet parsed into batches: the memory a file's reading holds, whatever its size.
READ_AHEAD_BLOCKS = 2


def _decode_head(raw: bytes, encoding: str, complete: bool) -> str:
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError as e:
        raise UnreadableFile(f"encoding_probably names an unknown encoding: {encoding!r}") from e
    try:
        return decoder.decode(raw, final=complete)
    except UnicodeDecodeError as e:
        raise UnreadableFile(
            f"the file is not valid {encoding} (byte {e.start} of the file); set encoding_probably to the "
            "file's encoding, e.g. latin-1"
        ) from e


def _arrow_encoding(encoding: str) -> str:
    # Arrow reads "utf8" natively; any other name (even "utf-8") goes through a Python transcoder, 6x slower.
    return "utf8" if codecs.lookup(encoding).name == "utf-8" else encoding


class DelimitedReader:
    """A delimited text file: header found per the settings, rows as text, ragged rows set aside."""

    def __init__(self, path: Path, settings: ParseSettings, file_format: FileFormat) -> None:
        self._path = path
        self._settings = settings
        self._format = file_format
        self.names, self._skip = self._header()
        self._kept = [self.names[i] for i in settings.kept_columns(self.names)]
        unique_names(self._kept)

    @property
    def file_format(self) -> FileFormat:
        return self._format

    def _header(self) -> tuple[list[str], int]:
        s = self._settings
        raw = head(self._path, s.chunk_size_to_read_for_header + 1)
        complete = len(raw) <= s.chunk_size_to_read_for_header
        text = _decode_head(raw[: s.chunk_size_to_read_for_header], s.encoding_probably, complete)
        text = text.removeprefix("\ufeff")
        if s.raw_headers:
            return [h.strip() for h in s.raw_headers], 0
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=s.csv_delimiter,
            quotechar=s.csv_quotechar,
            escapechar=s.csv_escapechar,
        )
        wanted = set(s.identify_header_by_column_names)
        records = enumerate(reader)
        failure: csv.Error | None = None
        try:
            current = next(records, None)
        except csv.Error as e:
            raise UnreadableFile(
                f"the first line of the file is not {self._format.value.upper()}: {e}"
            ) from e
        while current is not None:
            index, record = current
            try:
                following = next(records, None)
            except (
                csv.Error
            ) as e:  # a later record is beyond the csv module (e.g. a huge cell): this one is whole
                failure, following = e, None
            if following is None and failure is None and not complete:
                break  # the last record of the chunk may be cut by the chunk's end
            names = [cell.strip() for cell in record]
            if any(names) and wanted <= set(names):
                return [name or f"column_{i + 1}" for i, name in enumerate(names)], index + 1
            current = following
        if failure is not None:
            raise UnreadableFile(f"no header line found at the start of the file: {failure}")
        if wanted:
            raise UnreadableFile(
                f"no line in the first {s.chunk_size_to_read_for_header} bytes holds all of "
                f"identify_header_by_column_names {sorted(wanted)}",
                alert_type="missing_required_field",
            )
        raise UnreadableFile("the file holds no header line (set raw_headers if it has none)")

    def batches(self, batch_rows: int) -> Iterator[RawBatch]:
        s = self._settings
        first = (
            self._skip + 1
        )  # record number of the first data row (1-based, header and skipped lines count)
        numbers = _LineNumbers(first)
        refused: list[RejectedRow] = []
        quarantine = s.quarantine_row_if_row_level_issue_override
        too_long: list[str] = []

        def on_invalid_row(row: Any) -> str:
            number = int(row.number) if row.number is not None else 0
            reason = f"the row has {row.actual_columns} cells where the header has {row.expected_columns}"
            if not quarantine:
                too_long.append(f"line {number}: {reason}")
                return "error"
            numbers.refuse(number)
            refused.append(RejectedRow(number, row.text, reason))
            return "skip"

        stream = pa.input_stream(str(self._path), compression="gzip" if is_gzip(self._path) else None)
        paced = _PacedInput(stream, READ_AHEAD_BLOCKS)
        try:
            paced.waiting()  # opening reads the first block
            reader = pa_csv.open_csv(
                paced,
                read_options=pa_csv.ReadOptions(
                    column_names=self.names,
                    skip_rows=self._skip,
                    encoding=_arrow_encoding(s.encoding_probably),
                    block_size=BLOCK_SIZE,
                    use_threads=False,
                ),
                parse_options=pa_csv.ParseOptions(
                    delimiter=s.csv_delimiter,
                    quote_char=s.csv_quotechar,
                    escape_char=s.csv_escapechar or False,
                    newlines_in_values=True,
                    invalid_row_handler=on_invalid_row,
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(self._kept, pa.string()),
                    include_columns=self._kept,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            paced.took()
            for batch in _rethrow(reader, paced, self._path, too_long, s.encoding_probably):
                for start in range(0, batch.num_rows, batch_rows):
                    part = batch.slice(start, batch_rows)
                    yield RawBatch(part, numbers.next(part.num_rows), refused[:])
                    refused.clear()
                if batch.num_rows == 0 and refused:
                    yield RawBatch(batch, pa.array([], pa.int64()), refused[:])
                    refused.clear()
            if refused:
                empty = pa.RecordBatch.from_pydict({name: pa.array([], pa.string()) for name in self._kept})
                yield RawBatch(empty, pa.array([], pa.int64()), refused[:])
        except UnreadableFile:
            raise
        except (pa.ArrowInvalid, OSError, EOFError) as e:
            raise _explain(e, self._path, too_long, s.encoding_probably) from e
        finally:
            stream.close()


class _PacedInput:
    """The file as Arrow's streaming CSV reader sees it, read at most `ahead` blocks ahead of the batches taken.

    Arrow reads its input on a background thread into a queue of up to 32 blocks however slowly the batches are
    taken (with 16 MiB blocks, 512 MiB of a large file in memory). Here a read waits while `ahead` blocks are
    read and not yet parsed into a batch. Should the consumer wait for its batch a while all the same (a record
    straddling blocks, a starved machine), one more block is let through per `STARVED_SECONDS` of its wait:
    never a deadlock, and still a bound."""

    STARVED_SECONDS = 0.1

    def __init__(self, stream: Any, ahead: int) -> None:
        self._stream = stream
        self._ahead = ahead
        self._extra = 0
        self._reads = 0
        self._taken = 0
        self._waiting_since: float | None = None
        self._changed = threading.Condition()
        self._ended = False
        self.closed = False

    @property
    def blocks_ahead(self) -> int:
        """Blocks read and not yet parsed into a batch taken."""
        with self._changed:
            return self._reads - self._taken

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        with self._changed:
            while self._reads - self._taken >= self._ahead + self._extra and not self._ended:
                since = self._waiting_since
                if since is not None and time.monotonic() - since >= self.STARVED_SECONDS * (self._extra + 1):
                    self._extra += 1
                    continue
                self._changed.wait(self.STARVED_SECONDS / 2)
            self._reads += 1
        data = bytes(self._stream.read(size))
        if not data:
            with self._changed:
                self._ended = True
        return data

    def close(self) -> None:
        self.closed = True

    def waiting(self) -> None:
        """The consumer asks for its next batch."""
        with self._changed:
            self._waiting_since = time.monotonic()
            self._changed.notify_all()

    def took(self) -> None:
        """The consumer has its batch (or the end, or the reader opened): a block is parsed."""
        with self._changed:
            self._waiting_since = None
            self._taken += 1
            self._extra = 0
            self._changed.notify_all()


def _rethrow(
    reader: Any, paced: _PacedInput, path: Path, too_long: list[str], encoding: str
) -> Iterator[RecordBatch]:
    while True:
        paced.waiting()
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, OSError, EOFError) as e:
            raise _explain(e, path, too_long, encoding) from e
        finally:
            paced.took()
        yield batch


def _explain(error: Exception, path: Path, ragged: list[str], encoding: str) -> UnreadableFile:
    text = str(error)
    if ragged:
        return UnreadableFile(
            f"a row does not have as many cells as the header ({ragged[0]}); fix the file or set "
            "quarantine_row_if_row_level_issue_override to quarantine such rows",
            alert_type="row_level_issue",
        )
    if "UTF8" in text or "UTF-8" in text or "decode" in text.lower():
        return UnreadableFile(
            f"the file is not valid {encoding}; set encoding_probably to the file's encoding (e.g. latin-1)"
        )
    if "straddling" in text or "block" in text.lower():
        return UnreadableFile(f"a row is longer than {BLOCK_SIZE >> 20} MiB, or a quote is never closed")
    if is_gzip(path):
        return UnreadableFile(f"the gzip data is truncated or corrupt: {text}")
    return UnreadableFile(f"the file cannot be parsed as delimited text: {text}")


@functools.lru_cache(maxsize=4)
def _ordinals(n: int) -> Array:
    """0 .. n-1, built once per batch size (a Python range of 100k numbers costs ~20 ms per batch)."""
    return pa.array(range(n), pa.int64())


class _LineNumbers:
    """The record numbers of the good rows, batch after batch, given the record numbers of the rows set aside
    (in order, as the reader refuses them). Only the refused rows not yet passed are kept.

    Good row k (0-based over the file) sits at `first + k + (refused rows before it)`."""

    def __init__(self, first: int) -> None:
        self._first = first
        self._good_seen = 0
        self._refused = 0  # refused so far
        self._passed = 0  # refused rows before the next good row
        # For each refused row not yet passed: how many good rows precede it.
        self._ahead: deque[int] = deque()

    def refuse(self, number: int) -> None:
        self._ahead.append(number - self._first - self._refused)
        self._refused += 1

    def next(self, n: int) -> Array:
        ahead, seen = self._ahead, self._good_seen
        while ahead and ahead[0] < seen:
            ahead.popleft()
            self._passed += 1
        start = self._first + seen + self._passed
        self._good_seen += n
        if not ahead or ahead[0] >= seen + n:
            return pc.add(_ordinals(n), start)
        out: list[int] = []
        line = start
        for j in range(n):
            while ahead and ahead[0] == seen + j:
                ahead.popleft()
                self._passed += 1
                line += 1
            out.append(line)
            line += 1
        return pa.array(out, pa.int64())
