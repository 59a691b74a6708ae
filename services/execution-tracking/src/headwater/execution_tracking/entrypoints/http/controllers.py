"""Controllers of the internal API: translate a request into one use case call and its result back."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from headwater.common.contracts.paths import ExecutionTrackingPaths
from headwater.common.contracts.watcher import (
    DEFAULT_LIST_LIMIT,
    Created,
    Execution,
    ExecutionEnd,
    ExecutionStart,
    LogCleanup,
    LogCleanupCounts,
    Pipeline,
    PipelineCreate,
    PipelineType,
    PipelineTypeCreate,
    PipelineTypeUpdate,
    PipelineUpdate,
    PipelineUpserted,
    sent,
)
from headwater.common.records import project
from headwater.execution_tracking.bootstrap import Container
from headwater.execution_tracking.entrypoints.http.deps import ListLimit, ListOffset, Runs, UowFactory
from headwater.execution_tracking.service_layer import executions, pipelines, retention


class PipelineTypeController(Controller):
    tags = ["pipeline types"]

    @post(ExecutionTrackingPaths.PIPELINE_TYPES, status_code=HTTP_201_CREATED)
    async def upsert(self, data: JSONBody[PipelineTypeCreate], uow_factory: UowFactory) -> Response[Created]:
        type_id, created = await pipelines.upsert_pipeline_type(uow_factory(), sent(data))
        return Response(Created(type_id), status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(ExecutionTrackingPaths.PIPELINE_TYPES)
    async def list_all(
        self, uow_factory: UowFactory, limit: ListLimit = DEFAULT_LIST_LIMIT, offset: ListOffset = 0
    ) -> list[PipelineType]:
        rows = await pipelines.list_pipeline_types(uow_factory(), limit=limit, offset=offset)
        return [project(PipelineType, r) for r in rows]

    @get(ExecutionTrackingPaths.PIPELINE_TYPE)
    async def get_one(self, pipeline_type_id: FromPath[int], uow_factory: UowFactory) -> PipelineType:
        return project(PipelineType, await pipelines.get_pipeline_type(uow_factory(), pipeline_type_id))

    @patch(ExecutionTrackingPaths.PIPELINE_TYPES)
    async def update(self, data: JSONBody[PipelineTypeUpdate], uow_factory: UowFactory) -> PipelineType:
        return project(PipelineType, await pipelines.patch_pipeline_type(uow_factory(), sent(data)))


class PipelineController(Controller):
    tags = ["pipelines"]

    @post(ExecutionTrackingPaths.PIPELINES, status_code=HTTP_201_CREATED)
    async def upsert(
        self, data: JSONBody[PipelineCreate], uow_factory: UowFactory
    ) -> Response[PipelineUpserted]:
        result = await pipelines.upsert_pipeline(uow_factory(), sent(data))
        body = PipelineUpserted(
            id=result.id, active=result.active, load_lineage=result.load_lineage, watermark=result.watermark
        )
        return Response(body, status_code=HTTP_201_CREATED if result.created else HTTP_200_OK)

    @get(ExecutionTrackingPaths.PIPELINES)
    async def list_all(
        self, uow_factory: UowFactory, limit: ListLimit = DEFAULT_LIST_LIMIT, offset: ListOffset = 0
    ) -> list[Pipeline]:
        rows = await pipelines.list_pipelines(uow_factory(), limit=limit, offset=offset)
        return [project(Pipeline, r) for r in rows]

    @get(ExecutionTrackingPaths.PIPELINE)
    async def get_one(self, pipeline_id: FromPath[int], uow_factory: UowFactory) -> Pipeline:
        return project(Pipeline, await pipelines.get_pipeline(uow_factory(), pipeline_id))

    @patch(ExecutionTrackingPaths.PIPELINES)
    async def update(self, data: JSONBody[PipelineUpdate], uow_factory: UowFactory) -> Pipeline:
        return project(Pipeline, await pipelines.patch_pipeline(uow_factory(), sent(data)))


class ExecutionController(Controller):
    tags = ["executions"]

    @post(ExecutionTrackingPaths.START_EXECUTION, status_code=HTTP_201_CREATED)
    async def start(self, data: JSONBody[ExecutionStart], runs: Runs) -> Created:
        return Created(await executions.start_execution(runs, **msgspec.structs.asdict(data)))

    @post(ExecutionTrackingPaths.END_EXECUTION, status_code=HTTP_204_NO_CONTENT)
    async def end(self, data: JSONBody[ExecutionEnd], runs: Runs) -> None:
        fields = msgspec.structs.asdict(data)
        await executions.end_execution(runs, execution_id=fields.pop("id"), **fields)

    @get(ExecutionTrackingPaths.EXECUTION)
    async def get_one(self, pipeline_execution_id: FromPath[int], uow_factory: UowFactory) -> Execution:
        tree = await executions.get_execution_tree(uow_factory(), pipeline_execution_id)
        return msgspec.convert(tree, Execution, from_attributes=False)


class RetentionController(Controller):
    tags = ["retention"]

    @post(ExecutionTrackingPaths.LOG_CLEANUP, status_code=HTTP_200_OK)
    async def log_cleanup(self, data: JSONBody[LogCleanup], uow_factory: UowFactory) -> LogCleanupCounts:
        return await retention.RETENTION.clean_up_logs(
            uow_factory(), retention_days=data.retention_days, batch_size=data.batch_size
        )


def dependencies(container: Container) -> dict[str, Provide]:
    return {
        "runs": Provide(lambda: container.runs, use_cache=True, sync_to_thread=False),
        "graph": Provide(lambda: container.graph, use_cache=True, sync_to_thread=False),
    }
