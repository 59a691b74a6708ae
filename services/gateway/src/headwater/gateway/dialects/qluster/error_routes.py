"""Qluster routes of fatal errors (spec 003: Get Errors, Create Fatal Error, Get Fatal Error, Delete Fatal
Error), served by quality-alerting."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Response, delete, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, JSONBody, QueryParameter

from headwater.common.contracts.paths import QualityAlertingPaths as Paths
from headwater.common.contracts.qluster import (
    FatalError,
    FatalErrorCreate,
    FatalErrorDelete,
    FatalErrorPage,
    JobName,
    ModuleName,
)
from headwater.gateway.dialects.deps import ToQualityAlerting
from headwater.gateway.dialects.forward import Forwarding

ErrorId = Annotated[int | None, QueryParameter(ge=1)]

errors = Forwarding("to_quality_alerting", "Fatal errors")


@get(
    Paths.ERRORS,
    tags=[errors.tag],
    summary="Get errors",
    description="Cursor pagination as for alerts: `start` (walk up from an id) or `end` (down to one), not "
    "both; `limit` (20); `reverse` (true: newest first). Filters: `job_name`, `module`, `deleted` (false). "
    "`next` and `previous` are the query parameters of the neighbouring pages.",
)
async def list_page(
    to_quality_alerting: ToQualityAlerting,
    start: ErrorId = None,
    end: ErrorId = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 20,
    job_name: FromQuery[JobName | None] = None,
    module: FromQuery[ModuleName | None] = None,
    deleted: FromQuery[bool] = False,
    reverse: FromQuery[bool] = True,
) -> Response[FatalErrorPage]:
    if start is not None and end is not None:
        raise ValidationException("pass either `start` or `end`, not both")
    return await to_quality_alerting()


@delete(
    Paths.ERRORS,
    tags=[errors.tag],
    summary="Delete fatal error",
    description="Deletes the fatal errors not deleted yet that equal every field given (`id`, `job_name`, "
    "`job_type`, `error`; at least one). They stay readable by id and are listed with `deleted=true`. "
    "Answers `null`; 404 when `id` names no error.",
    status_code=200,
)
async def delete_matching(
    data: JSONBody[FatalErrorDelete], to_quality_alerting: ToQualityAlerting
) -> Response[None]:
    # A DELETE's body is not forwarded by itself: the validated criteria are sent on.
    return await to_quality_alerting(body=msgspec.json.encode(data))


ROUTES = [
    list_page,
    errors.route(
        post,
        Paths.ERRORS,
        "create",
        FatalError,
        data=FatalErrorCreate,
        summary="Create fatal error",
        description="A report of an error not deleted yet with the same module, error, job and data source / "
        "stored item adds to its `count` instead of creating another.",
        status_code=200,
    ),
    errors.route(get, Paths.ERROR, "get_one", FatalError, summary="Get fatal error"),
    delete_matching,
]
