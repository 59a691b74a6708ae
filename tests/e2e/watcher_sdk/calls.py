"""The Watcher SDK's direct client calls (manual start/end, check triggers, watermark patch); prints JSON outcomes."""

# Runs in the SDK's own Python >= 3.12 venv (see requirements.txt and flow.py).
# pyright: reportMissingImports=false

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import pendulum
from watcher import AddressLineage, Pipeline, PipelineConfig, Watcher, WatcherAPIError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--pipeline", required=True)
    args = parser.parse_args()

    watcher = Watcher(args.gateway_url, auth=args.token)
    watcher.client.max_attempts = 1  # report a 5xx as it is instead of retrying it with backoff
    outcomes: dict[str, Any] = {}

    def attempt(name: str, call: Callable[[], Any]) -> Any:
        try:
            value = call()
        except WatcherAPIError as exc:
            outcomes[name] = {"status": exc.status_code, "body": exc.response_text}
            return None
        outcomes[name] = {"status": "ok", "value": value}
        return value

    # the SDK posts lineage for a new pipeline whether or not the config has any (None crashes it): send none
    synced = watcher.sync_pipeline_config(
        PipelineConfig(
            pipeline=Pipeline(name=args.pipeline, pipeline_type_name="manual"),
            address_lineage=AddressLineage(source_addresses=[], target_addresses=[]),
            next_watermark=1,
        )
    )
    pid = synced.pipeline.id
    parent = attempt("start_parent", lambda: watcher.start_pipeline_execution(pipeline_id=pid))
    child = attempt(
        "start_child", lambda: watcher.start_pipeline_execution(pipeline_id=pid, parent_execution_id=parent)
    )
    # end_date is optional in the signature but required by the SDK's own model
    attempt(
        "end_child",
        lambda: watcher.end_pipeline_execution(
            child, completed_successfully=True, end_date=pendulum.now("UTC"), inserts=2
        ),
    )
    attempt(
        "end_parent",
        lambda: watcher.end_pipeline_execution(
            parent, completed_successfully=True, end_date=pendulum.now("UTC")
        ),
    )
    attempt("update_pipeline_next_watermark", lambda: watcher.update_pipeline_next_watermark(pid, 2))
    attempt("trigger_freshness_check", watcher.trigger_freshness_check)
    attempt("trigger_timeliness_check", lambda: watcher.trigger_timeliness_check(lookback_minutes=60))
    attempt("trigger_celery_queue_check", watcher.trigger_celery_queue_check)
    print(json.dumps({"pipeline_id": pid, "parent": parent, "child": child, "outcomes": outcomes}))


if __name__ == "__main__":
    main()
