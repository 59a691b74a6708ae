import time, resource, uuid
from typing import Any
import pytest
from headwater.ingestion.adapters.connectors.postgres_destination import PostgresDestination
from headwater.ingestion.adapters.connectors.parquet_destination import ParquetDestination
from headwater.ingestion.arrow import pa, pc
from headwater.ingestion.domain.connectors import WriteTarget

N = 2_000_000
B = 50_000

def make(i):
    ids = pa.array(range(i, i + B), pa.int64())
    return pa.RecordBatch.from_pydict({
        "id": ids, "a": ids, "b": pc.multiply(ids, 1.5), "c": pc.cast(ids, pa.string()),
        "d": pc.cast(pc.cast(ids, pa.int64()), pa.timestamp("us", tz="UTC")), "e": pc.equal(pc.bit_wise_and(ids, 1), 0),
        "f": pc.cast(ids, pa.string()), "g": pc.multiply(ids, 2), "h": pc.multiply(ids, 0.5), "i": pc.cast(ids, pa.int32()),
    })

async def gen():
    for i in range(0, N, B):
        yield make(i)

async def test_gen() -> None:
    t = time.monotonic()
    async for b in gen(): pass
    print(f"\nGEN {time.monotonic()-t:.1f}s")

@pytest.mark.parametrize("pk", [(), ("id",)])
async def test_pg(warehouse_config: dict[str, Any], pk) -> None:
    t = time.monotonic()
    s = await PostgresDestination().write(warehouse_config, WriteTarget(namespace=f"b_{uuid.uuid4().hex[:6]}", table="t", primary_key=pk, mode="overwrite"), gen())
    dt = time.monotonic() - t
    print(f"\nPG pk={pk} {s.rows_written} rows {dt:.1f}s {s.rows_written/dt:,.0f} rows/s rss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f}MB")

async def test_pq(tmp_path) -> None:
    t = time.monotonic()
    s = await ParquetDestination().write({"store": "local", "path": str(tmp_path)}, WriteTarget(namespace="x", table="t", run_id="r"), gen())
    dt = time.monotonic() - t
    print(f"\nPQ {s.rows_written} rows {dt:.1f}s {s.rows_written/dt:,.0f} rows/s rss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f}MB")
