"""pyarrow as the engine sees it: through explicit `Any`.

pyarrow's modules are compiled and its functions (`pyarrow.compute.*`) are generated at import time, so a type
checker sees nothing of them, and the third-party stubs lag pyarrow's releases and refuse valid calls (a scalar
where an array may go). Rather than silence the checker file by file, the engine imports pyarrow from here, typed
`Any` on purpose; the Arrow-facing code is held by its tests instead.
"""

# pyright: reportMissingTypeStubs=false
from __future__ import annotations

from typing import Any, TypeAlias

import pyarrow as _pa
import pyarrow.compute as _pc
import pyarrow.csv as _pa_csv
import pyarrow.parquet as _pq

pa: Any = _pa
pc: Any = _pc
pa_csv: Any = _pa_csv
pq: Any = _pq

Array: TypeAlias = Any
RecordBatch: TypeAlias = Any
DataType: TypeAlias = Any


def use_jemalloc() -> None:
    """Arrow's allocations from jemalloc, where pyarrow has it (its Linux and macOS wheels; else the default
    allocator stays). The default (mimalloc) holds on to more of the pages a file's batches used: 30 MB more
    peak RSS in a worker ingesting 1M rows, for no less CPU (`make bench-ingestion`). (jemalloc's decay at 0 ms
    would save 30 MB more, for a quarter more CPU in the worker.)"""
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:
        return
    pa.set_memory_pool(pool)
