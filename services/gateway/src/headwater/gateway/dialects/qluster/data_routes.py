"""Qluster routes of ingestion's data (spec 003): Get Data, Ignore Line Signature For Dataset View, Reprocess Bad
Rows For Dataset View, Get Queue Msgs, Get One Queue Msg and Reschedule Queue Msgs, validated here and forwarded
to the ingestion service under the same paths; and Get Menu Stats, which adds quality-alerting's count of
unresolved alerts to ingestion's counts (README: Qluster, data routes)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, Parameter, QueryParameter

from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.common.contracts.qluster_data import (
    BadRowIds,
    DataPage,
    LineSignatures,
    MenuCounts,
    MenuStats,
    QueueMsg,
    QueueMsgIds,
    QueueMsgPage,
)
from headwater.common.contracts.qluster_metadata import TextResult
from headwater.common.contracts.types import BIGINT_MAX
from headwater.common.principal import Principal
from headwater.gateway.dialects.deps import Caller, Service, ToIngestion
from headwater.gateway.dialects.forward import Forwarding
from headwater.gateway.dialects.qluster.metadata_routes import PAGING_NOTE, Cursor, Reference

Page = Annotated[int, QueryParameter(ge=1, le=BIGINT_MAX // 1000)]
Limit = Annotated[int, QueryParameter(ge=1, le=1000)]
OrderBy = Annotated[list[str] | None, QueryParameter(max_items=20)]
# What the menu counts from quality-alerting (unresolved alerts, fatal errors): at most this many pages of 1,000.
COUNTED_PAGES = 100

data = Forwarding("to_ingestion", "Data")
queue = Forwarding("to_ingestion", "Queue messages")


@get(
    Paths.DATA,
    tags=[data.tag],
    summary="Get Data",
    description="A page (`page` from 1, `limit` 20, at most 1,000) of the dataset's loaded rows, or with "
    "`is_bad_data=true` of its quarantined rows (`_signature`, `_field_name`, `_field_value`, `_msg`, "
    "`_alert_type`, `_row`). `order_by` names fields or hidden columns (`id` is `_id`), `~` first for "
    "descending (default `~id`); an unknown one answers 422. A `limited_to_source` user reads one of its data "
    "sources at a time (`data_source_model_id` required, else 403).",
)
async def get_data(
    dataset_id: Annotated[int, Parameter(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)],
    to_ingestion: ToIngestion,
    page: Page = 1,
    limit: Limit = 20,
    data_source_model_id: Reference = None,
    stored_item_id: Reference = None,
    is_bad_data: FromQuery[bool] = False,
    order_by: OrderBy = None,
) -> Response[DataPage]:
    for item in order_by or ():
        if not 1 <= len(item) <= 64 or "\x00" in item:
            raise ValidationException(
                "`order_by`: column names of 1 to 64 characters, `~` first for descending"
            )
    return await to_ingestion()


@get(
    Paths.MENU_STATS,
    tags=[data.tag],
    summary="Get Menu Stats",
    description="Datasets, data sources (active, disabled, draft) and destinations from ingestion; fatal errors "
    "(not deleted) and unresolved unmuted alerts from quality-alerting; scoped to a `limited_to_source` user's "
    "data sources.",
)
async def menu_stats(principal: Caller, ingestion: Service, quality_alerting: Service) -> Response[Any]:
    counted = await ingestion.call("GET", Paths.MENU_STATS, principal=principal)
    if counted.status != 200:
        return Response(content=counted.body, status_code=counted.status, media_type=counted.content_type)
    counts = msgspec.json.decode(counted.body, type=MenuCounts)
    alerts = await _count(
        quality_alerting, QualityAlertingPaths.ALERTS, "resolved=false&is_muted=false", principal
    )
    if isinstance(alerts, Response):
        return alerts
    errors = await _count(quality_alerting, QualityAlertingPaths.ERRORS, "deleted=false", principal)
    if isinstance(errors, Response):
        return errors
    stats = MenuStats(**msgspec.structs.asdict(counts), errors_count=errors, unresolved_alerts_count=alerts)
    return Response(content=stats)


async def _count(service: Service, path: str, query: str, principal: Principal) -> int | Response[Any]:
    """How many records a cursor-paged list of `service` holds (pages of 1,000, at most `COUNTED_PAGES`); its
    answer instead when it refuses."""
    counted = 0
    page_query = f"{query}&limit=1000"
    for _ in range(COUNTED_PAGES):
        answer = await service.call("GET", path, principal=principal, query=page_query)
        if answer.status != 200:
            return Response(content=answer.body, status_code=answer.status, media_type=answer.content_type)
        page = msgspec.json.decode(answer.body, type=_Ids)
        counted += len(page.results)
        if page.next is None or "end" not in page.next:
            break
        page_query = f"{query}&limit=1000&end={int(page.next['end'])}"
    return counted


class _Ids(msgspec.Struct):
    results: list[Any]
    next: dict[str, Any] | None = None


@get(
    Paths.QUEUE_MSGS,
    tags=[queue.tag],
    summary="Get Queue Msgs",
    description=f"{PAGING_NOTE} The ingestion service's messages: the events of its outbox (`q_name` is the "
    "topic, `acknowledged` once the broker took them) and those the broker refused, kept in its outbox "
    "quarantine (`quarantined`, `reason`). Filters: `acknowledged`, `q_name`, `data_source_model_id`.",
)
async def queue_msgs(
    to_ingestion: ToIngestion,
    start: Cursor = None,
    end: Cursor = None,
    limit: Limit = 20,
    reverse: FromQuery[bool] = True,
    acknowledged: FromQuery[bool | None] = None,
    q_name: Annotated[str | None, QueryParameter(max_length=200)] = None,
    data_source_model_id: Reference = None,
) -> Response[QueueMsgPage]:
    if start is not None and end is not None:
        raise ValidationException("pass either `start` or `end`, not both")
    if q_name is not None and "\x00" in q_name:
        raise ValidationException("`q_name`: a topic name without NUL characters")
    return await to_ingestion()


ROUTES = [
    get_data,
    data.route(
        post,
        Paths.IGNORE_LINE_SIGNATURE,
        "ignore_line_signature_for_dataset_view",
        TextResult,
        data=LineSignatures,
        summary="Ignore Line Signature For Dataset View",
        description="Each [data source model id, line signature] is ignored from now on for that data source "
        "(again: no change) and its quarantined rows with that signature are dropped at once.",
        status_code=200,
    ),
    data.route(
        post,
        Paths.REPROCESS_BAD_ROWS,
        "reprocess_bad_rows_for_dataset_view",
        TextResult,
        data=BadRowIds,
        summary="Reprocess Bad Rows For Dataset View",
        description="The bad rows of `ids` (every bad row of the dataset when empty) are checked against today's "
        "validation info; those that pass move into the dataset's table. Done before the answer.",
        status_code=200,
    ),
    menu_stats,
    queue_msgs,
    queue.route(get, Paths.QUEUE_MSG, "get_one_queue_msg", QueueMsg, summary="Get One Queue Msg"),
    queue.route(
        post,
        Paths.RESCHEDULE_QUEUE_MSGS,
        "reschedule_queue_msgs",
        TextResult,
        data=QueueMsgIds,
        summary="Reschedule Queue Msgs",
        description="Quarantined messages go back to the outbox (new ids), sent ones are sent again; an unknown "
        "id answers 404 and nothing changes. Not for `limited_to_source` users (403).",
        status_code=200,
    ),
]
