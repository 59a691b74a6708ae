"""OLake sources (spec 004 and the OLake UI v0.0.5): list, create, update, soft delete, test connection,
versions, the form (POST as the UI calls it, GET as 004 writes it) and stream discovery (POST `/sources/streams`
answering OLake's catalog, GET `/source/streams` answering `{streams_config}` as 004 writes it). Configs are
JSON-encoded strings in OLake's keys; `translate` maps them to ingestion's connectors."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from headwater.common.contracts.types import Word
from headwater.gateway.dialects.deps import Caller, Service
from headwater.gateway.dialects.olake.connections import (
    SOURCE,
    VERSIONS,
    ConnectionBody,
    PathId,
    SpecBody,
    StreamsBody,
    list_connections,
    listed,
    ok,
    ours,
    syncs_of,
    test_connection,
    type_names,
    write_of,
)
from headwater.gateway.dialects.olake.specs import source_spec
from headwater.gateway.dialects.olake.translate import as_dict, catalog, encode, source_kind

READ = {"permission": "read"}  # a POST that changes nothing (a form, a check, a discovery)


async def _streams(
    body: StreamsBody, project_id: str, ingestion: Service, principal: Caller
) -> dict[str, Any]:
    syncs = syncs_of(ingestion, principal, project_id)
    kind = source_kind(body.type)
    previous = None
    if body.job_id >= 0:
        job = await syncs.job(body.job_id)
        previous = (as_dict((as_dict(job.get("extra")) or {}).get("olake")) or {}).get("streams_config")
    discovered = await syncs.discover(kind, ours(SOURCE, kind, body.config), body.version or "latest")
    return catalog(discovered, previous)


class SourceController(Controller):
    path = "/api/v1/project/{project_id:str}"
    tags = ["Sources (OLake)"]

    @get("/sources", summary="List sources (config as a JSON string, jobs using each)")
    async def list_sources(
        self, project_id: FromPath[str], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        return ok(await list_connections(syncs_of(ingestion, principal, project_id), SOURCE))

    @post("/sources", status_code=200, summary="Create a source (names are unique per project)")
    async def create_source(
        self, project_id: FromPath[str], data: JSONBody[ConnectionBody], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        syncs = syncs_of(ingestion, principal, project_id)
        created = await syncs.create_connection(SOURCE, write_of(SOURCE, data))
        return ok(listed(SOURCE, created, {}))

    @put("/sources/{source_id:int}", summary="Update a source (a masked secret sent back keeps its value)")
    async def update_source(
        self,
        project_id: FromPath[str],
        source_id: PathId,
        data: JSONBody[ConnectionBody],
        ingestion: Service,
        principal: Caller,
    ) -> Response[Any]:
        syncs = syncs_of(ingestion, principal, project_id)
        updated = await syncs.update_connection(SOURCE, source_id, write_of(SOURCE, data))
        return ok(listed(SOURCE, updated, await type_names(syncs, "destinations")))

    @delete(
        "/sources/{source_id:int}",
        status_code=200,
        summary="Soft delete a source (409 while a job uses it; it stays readable in the jobs' history)",
    )
    async def delete_source(
        self, project_id: FromPath[str], source_id: PathId, ingestion: Service, principal: Caller
    ) -> Response[Any]:
        gone = await syncs_of(ingestion, principal, project_id).delete_connection(SOURCE, source_id)
        return ok({"name": gone["name"]})

    @post("/sources/test", status_code=200, opt=READ, summary="Test a source's connection (data.status)")
    async def test_source(
        self, project_id: FromPath[str], data: JSONBody[ConnectionBody], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        return ok(await test_connection(syncs_of(ingestion, principal, project_id), SOURCE, data))

    @get(["/sources/versions", "/sources/versions/"], summary="Versions of a source type (data.version)")
    async def source_versions(
        self, project_id: FromPath[str], type: FromQuery[Word] = "postgres"
    ) -> Response[Any]:
        source_kind(type)
        return ok({"version": VERSIONS})

    @post("/sources/spec", status_code=200, opt=READ, summary="The form of a source type (data.spec)")
    async def source_spec_post(self, project_id: FromPath[str], data: JSONBody[SpecBody]) -> Response[Any]:
        kind = source_kind(data.type)
        return ok({"type": kind, "version": data.version, "spec": source_spec(kind)})

    @get("/sources/spec", summary="The form of a source type, as 004 writes it (GET, type in the query)")
    async def source_spec_get(
        self,
        project_id: FromPath[str],
        type: FromQuery[Word] = "postgres",
        version: FromQuery[Word] = "latest",
    ) -> Response[Any]:
        kind = source_kind(type)
        return ok({"type": kind, "version": version, "spec": source_spec(kind)})

    @post(
        "/sources/streams",
        status_code=200,
        opt=READ,
        summary="Discover a source's streams (data: OLake's catalog {selected_streams, streams})",
        description="`job_id` ≥ 0 keeps that job's selection and sync modes for the streams that remain.",
    )
    async def discover_streams(
        self, project_id: FromPath[str], data: JSONBody[StreamsBody], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        return ok(await _streams(data, project_id, ingestion, principal))

    @post(
        "/source/streams",
        status_code=200,
        opt=READ,
        summary="Discover a source's streams, as 004 writes it (data.streams_config: the catalog as a string)",
    )
    async def discover_streams_004(
        self, project_id: FromPath[str], data: JSONBody[StreamsBody], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        return ok({"streams_config": encode(await _streams(data, project_id, ingestion, principal))})


ROUTES = [SourceController]
