"""OLake destinations (spec 004 and the OLake UI v0.0.5): list, create, update, soft delete, test connection,
versions and the form with its `uiSchema`. OLake's `s3` (the UI's "Amazon S3") is our Parquet destination,
`iceberg` ("Apache Iceberg") our Iceberg destination with its SQL catalog in Postgres (OLake's JDBC catalog);
`postgres` is ours, not listed by the UI. Configs are OLake writer configs as JSON-encoded strings."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from headwater.common.contracts.types import Word
from headwater.gateway.dialects.deps import Caller, Service
from headwater.gateway.dialects.olake.connections import (
    DESTINATION,
    VERSIONS,
    ConnectionBody,
    PathId,
    SpecBody,
    list_connections,
    listed,
    ok,
    syncs_of,
    test_connection,
    type_names,
    write_of,
)
from headwater.gateway.dialects.olake.specs import destination_spec, form_of
from headwater.gateway.dialects.olake.syncs_client import Syncs
from headwater.gateway.dialects.olake.translate import destination_kind

READ = {"permission": "read"}  # a POST that changes nothing (a form, a check)


async def _spec(syncs: Syncs, body: SpecBody) -> dict[str, Any]:
    kind = destination_kind(body.type)
    answer: dict[str, Any] = {"type": body.type.strip().lower(), "version": body.version}
    if kind == "postgres":  # ours: the connector's own form, made renderable
        spec = await syncs.spec(DESTINATION, kind, body.version or "latest")
        return answer | {"spec": form_of(spec["spec"]), "uiSchema": {}}
    spec, ui = destination_spec(body.type, body.catalog)
    if body.catalog:
        answer["catalog"] = body.catalog
    return answer | {"spec": spec, "uiSchema": ui}


class DestinationController(Controller):
    path = "/api/v1/project/{project_id:str}"
    tags = ["Destinations (OLake)"]

    @get("/destinations", summary="List destinations (config as a JSON string, jobs using each)")
    async def list_destinations(
        self, project_id: FromPath[str], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        return ok(await list_connections(syncs_of(ingestion, principal, project_id), DESTINATION))

    @post("/destinations", status_code=200, summary="Create a destination (names are unique per project)")
    async def create_destination(
        self, project_id: FromPath[str], data: JSONBody[ConnectionBody], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        syncs = syncs_of(ingestion, principal, project_id)
        created = await syncs.create_connection(DESTINATION, write_of(DESTINATION, data))
        return ok(listed(DESTINATION, created, {}))

    @put(
        "/destinations/{destination_id:int}",
        summary="Update a destination (a masked secret sent back is kept)",
    )
    async def update_destination(
        self,
        project_id: FromPath[str],
        destination_id: PathId,
        data: JSONBody[ConnectionBody],
        ingestion: Service,
        principal: Caller,
    ) -> Response[Any]:
        syncs = syncs_of(ingestion, principal, project_id)
        updated = await syncs.update_connection(DESTINATION, destination_id, write_of(DESTINATION, data))
        return ok(listed(DESTINATION, updated, await type_names(syncs, "sources")))

    @delete(
        "/destinations/{destination_id:int}",
        status_code=200,
        summary="Soft delete a destination (409 while a job uses it)",
    )
    async def delete_destination(
        self, project_id: FromPath[str], destination_id: PathId, ingestion: Service, principal: Caller
    ) -> Response[Any]:
        gone = await syncs_of(ingestion, principal, project_id).delete_connection(DESTINATION, destination_id)
        return ok({"name": gone["name"]})

    @post("/destinations/test", status_code=200, opt=READ, summary="Test a destination (data.status)")
    async def test_destination(
        self, project_id: FromPath[str], data: JSONBody[ConnectionBody], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        return ok(await test_connection(syncs_of(ingestion, principal, project_id), DESTINATION, data))

    @get(["/destinations/versions", "/destinations/versions/"], summary="Versions of a destination type")
    async def destination_versions(
        self, project_id: FromPath[str], type: FromQuery[Word] = "s3"
    ) -> Response[Any]:
        destination_kind(type)
        return ok({"version": VERSIONS})

    @post(
        "/destinations/spec",
        status_code=200,
        opt=READ,
        summary="The form of a destination type and Iceberg catalog (data.spec, data.uiSchema)",
    )
    async def destination_spec_post(
        self, project_id: FromPath[str], data: JSONBody[SpecBody], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        return ok(await _spec(syncs_of(ingestion, principal, project_id), data))

    @get("/destinations/spec", summary="The form of a destination type, as 004 writes it (GET, query)")
    async def destination_spec_get(
        self,
        project_id: FromPath[str],
        ingestion: Service,
        principal: Caller,
        type: FromQuery[Word] = "s3",
        version: FromQuery[Word] = "latest",
        catalog: FromQuery[Word | None] = None,
    ) -> Response[Any]:
        body = SpecBody(type=type, version=version, catalog=catalog)
        return ok(await _spec(syncs_of(ingestion, principal, project_id), body))


ROUTES = [DestinationController]
