"""Parquet files, read row group by row group (`iter_batches`); a gzip'd one is first unpacked to a temp file."""

from __future__ import annotations

import gzip
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from headwater.ingestion.adapters.files.reader import is_gzip, unique_names
from headwater.ingestion.arrow import pa, pq
from headwater.ingestion.domain.errors import UnreadableFile
from headwater.ingestion.domain.parsing import FileFormat, ParseSettings
from headwater.ingestion.domain.records import RawBatch


class ParquetReader:
    """Typed columns as stored (the checker casts them); line numbers are 1-based row positions."""

    def __init__(self, path: Path, settings: ParseSettings) -> None:
        self._path = path
        self._settings = settings

    @property
    def file_format(self) -> FileFormat:
        return FileFormat.PARQUET

    def batches(self, batch_rows: int) -> Iterator[RawBatch]:
        if not is_gzip(self._path):
            yield from self._read(self._path, batch_rows)
            return
        with tempfile.NamedTemporaryFile(suffix=".parquet") as unpacked:
            try:
                with gzip.open(self._path, "rb") as packed:
                    shutil.copyfileobj(packed, unpacked, 1 << 20)
            except (OSError, EOFError) as e:
                raise UnreadableFile(f"the gzip data is truncated or corrupt: {e}") from e
            unpacked.flush()
            yield from self._read(Path(unpacked.name), batch_rows)

    def _read(self, path: Path, batch_rows: int) -> Iterator[RawBatch]:
        try:
            parquet = pq.ParquetFile(path)
            names = list(parquet.schema_arrow.names)
            kept = [names[i] for i in self._settings.kept_columns(names)]
            unique_names(kept)
            seen = 0
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=kept, use_threads=False):
                numbers = pa.array(range(seen + 1, seen + 1 + batch.num_rows), pa.int64())
                seen += batch.num_rows
                yield RawBatch(batch, numbers, [])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as e:
            raise UnreadableFile(f"the file is not a readable Parquet file: {e}") from e
