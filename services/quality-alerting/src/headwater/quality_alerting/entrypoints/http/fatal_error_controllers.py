"""Internal API of Qluster's fatal errors: list with cursor pagination, create, get, delete.

Errors are scoped to the caller's principal like alerts: a `limited_to_source` one lists and reaches only the
errors of its granted data sources, and any other error answers 404 like a missing one.
"""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.common.contracts.qluster import FatalError, FatalErrorCreate, FatalErrorDelete, FatalErrorPage
from headwater.common.http import CursorQuery, caller, cursor_query
from headwater.common.records import project
from headwater.quality_alerting.domain import fatal_errors as records
from headwater.quality_alerting.entrypoints.http.deps import Caller, UowFactory
from headwater.quality_alerting.service_layer import fatal_errors


def _fatal_error(error: records.FatalError) -> FatalError:
    return project(FatalError, error, data_source_model_id=error.data_source_id)


class FatalErrorController(Controller):
    dependencies = {
        "principal": Provide(caller, sync_to_thread=False),
        "cursor": Provide(cursor_query, sync_to_thread=False),
    }

    @get(QualityAlertingPaths.ERRORS)
    async def list_page(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        cursor: CursorQuery,
        job_name: FromQuery[str | None] = None,
        module: FromQuery[str | None] = None,
        deleted: FromQuery[bool] = False,
    ) -> FatalErrorPage:
        filters = records.FatalErrorFilter(deleted=deleted, job_name=job_name, module=module)
        page = await fatal_errors.list_fatal_errors(
            uow_factory(),
            cursor=cursor,
            filters=filters,
            principal=principal,
        )
        return FatalErrorPage(
            next=page.next,
            previous=page.previous,
            results=[_fatal_error(r) for r in page.results],
            filters=filters.columns(),
        )

    @post(QualityAlertingPaths.ERRORS, status_code=HTTP_200_OK)
    async def create(
        self, data: JSONBody[FatalErrorCreate], uow_factory: UowFactory, principal: Caller
    ) -> FatalError:
        report = project(
            records.FatalErrorReport,
            data,
            data_source_id=data.data_source_model_id,
            meta_data=data.meta_data or {},
        )
        return _fatal_error(await fatal_errors.report_fatal_error(uow_factory(), report, principal))

    @get(QualityAlertingPaths.ERROR)
    async def get_one(
        self, error_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> FatalError:
        return _fatal_error(await fatal_errors.get_fatal_error(uow_factory(), error_id, principal))

    @delete(QualityAlertingPaths.ERRORS, status_code=HTTP_200_OK)
    async def delete_matching(
        self, data: JSONBody[FatalErrorDelete], uow_factory: UowFactory, principal: Caller
    ) -> Response[None]:
        matching = records.FatalErrorMatch(
            id=data.id, job_name=data.job_name, job_type=data.job_type, error=data.error
        )
        await fatal_errors.delete_fatal_errors(uow_factory(), matching, principal)
        return Response(content=None, status_code=HTTP_200_OK, media_type="application/json")
