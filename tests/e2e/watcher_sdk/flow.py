"""One scheduled run of an incremental ETL job written against the real Watcher SDK, as its docs show; prints JSON."""

# This script runs in its own Python >= 3.12 venv with etl-watcher-sdk installed (see requirements.txt); the
# project's 3.11 venv cannot install the SDK, so the import is unresolved when the repo is type-checked.
# pyright: reportMissingImports=false

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from watcher import (
    Address,
    AddressLineage,
    ETLResult,
    Pipeline,
    PipelineConfig,
    Watcher,
    WatcherContext,
)

# The "source table": rows keyed by an increasing id, which is the watermark.
SOURCE_ROWS = list(range(1, 101))


def lineage(source: str, target: str) -> AddressLineage:
    def database(name: str, kind: str) -> Address:
        return Address(name=name, address_type_name=kind, address_type_group_name="database")

    return AddressLineage(
        source_addresses=[database(source, "postgres")], target_addresses=[database(target, "snowflake")]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--pipeline", required=True, help="name of the incremental pipeline")
    parser.add_argument("--child-pipeline", required=True, help="name of the validation step's pipeline")
    parser.add_argument("--next-watermark", type=int, required=True)
    parser.add_argument("--fail", action="store_true", help="the load raises after its child step")
    args = parser.parse_args()

    watcher = Watcher(args.gateway_url, auth=args.token)
    # Observe (never alter) every request the SDK makes, through httpx's public event hooks.
    requests: list[dict[str, Any]] = []

    def record(response: httpx.Response) -> None:
        request = response.request
        requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "authorization": request.headers.get("authorization"),
                "body": json.loads(request.content) if request.content else None,
            }
        )

    watcher.client.client.event_hooks = {"response": [record]}

    started_at = datetime.now(UTC)
    synced = watcher.sync_pipeline_config(
        PipelineConfig(
            pipeline=Pipeline(
                name=args.pipeline,
                pipeline_type_name="Extraction",
                pipeline_metadata={"Owner": "Data Team"},
                freshness_number=1,
                freshness_datepart="day",
                timeliness_number=30,
                timeliness_datepart="minute",
            ),
            address_lineage=lineage("source_db.public.orders", "warehouse.raw.orders"),
            default_watermark=0,
            next_watermark=args.next_watermark,
        )
    )
    child_synced = watcher.sync_pipeline_config(
        PipelineConfig(
            pipeline=Pipeline(name=args.child_pipeline, pipeline_type_name="Validation"),
            address_lineage=lineage("warehouse.raw.orders", "warehouse.clean.orders"),
        )
    )
    seen: dict[str, Any] = {}

    @watcher.track_pipeline_execution(
        pipeline_id=synced.pipeline.id,
        active=synced.pipeline.active,
        watermark=synced.watermark,
        next_watermark=synced.next_watermark,
    )
    def load(watcher_context: WatcherContext) -> ETLResult:
        seen["execution_id"] = watcher_context.execution_id
        low, high = int(str(watcher_context.watermark)), int(str(watcher_context.next_watermark))
        batch = [row for row in SOURCE_ROWS if low < row <= high]
        seen["processed"] = batch

        def validate() -> ETLResult:
            return ETLResult(completed_successfully=True, total_rows=len(batch))

        child = watcher.track_child_pipeline_execution(
            pipeline_id=child_synced.pipeline.id,
            active=child_synced.pipeline.active,
            parent_execution_id=watcher_context.execution_id,
            func=validate,
        )
        seen["child_execution_id"] = child.execution_id
        if args.fail:
            raise RuntimeError("target warehouse unavailable")
        return ETLResult(
            completed_successfully=True,
            inserts=len(batch),
            total_rows=len(batch),
            execution_metadata={"range": [low, high]},
        )

    failure = None
    try:
        load()  # pyright: ignore[reportCallIssue]  # the SDK's untyped decorator passes watcher_context itself
    except RuntimeError as exc:
        failure = str(exc)
    print(
        json.dumps(
            {
                "pipeline_id": synced.pipeline.id,
                "child_pipeline_id": child_synced.pipeline.id,
                "watermark": synced.watermark,
                "next_watermark": synced.next_watermark,
                "failure": failure,
                **seen,
                "started_at": started_at.isoformat(),
                "finished_at": datetime.now(UTC).isoformat(),
                "requests": requests,
            }
        )
    )


if __name__ == "__main__":
    main()
