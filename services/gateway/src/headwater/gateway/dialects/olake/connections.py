"""What the OLake source and destination routes share: the request bodies, a connection (ingestion's words) as
the OLake UI lists it, get-or-create by name (a job's embedded source or destination), and the test answer."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from litestar import Response
from litestar.params import FromQuery, Parameter
from msgspec import Meta, Struct

from headwater.common.contracts.types import BIGINT_MAX, STORABLE, Name, Word, storable_json
from headwater.common.principal import Principal
from headwater.gateway.dialects.olake.syncs_client import IngestionRefused, Syncs
from headwater.gateway.dialects.olake.translate import (
    Refused,
    Unsupported,
    destination_config,
    destination_config_olake,
    destination_kind,
    destination_type,
    encode,
    parse_config,
    rfc3339,
    run_status,
    source_config,
    source_config_olake,
    source_kind,
)
from headwater.gateway.upstream import Upstream

Role = Literal["sources", "destinations"]
SOURCE: Final = "sources"
DESTINATION: Final = "destinations"
VERSIONS: Final = ["latest"]  # our connectors are not versioned: any version an OLake client names is served


Config = str | dict[str, Any]  # a JSON-encoded object (as the UI sends it) or the object (as 004 shows it)
ConfigText = Annotated[str, Meta(max_length=100_000, pattern=STORABLE)]
PathId = Annotated[int, Parameter(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)]  # a Postgres bigint, else 400 here
QueryId = FromQuery[Annotated[int, Meta(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)] | None]


class ConnectionBody(Struct, kw_only=True):
    """A source or destination as the UI sends it: `config` a JSON-encoded object (an object is accepted)."""

    type: Word
    config: ConfigText | dict[str, Any]
    name: Name = ""
    version: Word = "latest"

    def __post_init__(self) -> None:
        storable_json("config", self.config)


class SpecBody(Struct, kw_only=True):
    type: Word
    version: Word = "latest"
    catalog: Word | None = None


class StreamsBody(Struct, kw_only=True):
    type: Word
    config: ConfigText | dict[str, Any]
    name: Name = ""
    version: Word = "latest"
    job_id: Annotated[int, Meta(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)] = -1  # < 0: a new job

    def __post_init__(self) -> None:
        storable_json("config", self.config)


def ok(data: Any, message: str = "success") -> Response[Any]:
    return Response({"success": True, "message": message, "data": data}, status_code=200)


def syncs_of(ingestion: Upstream, principal: Principal, project_id: str) -> Syncs:
    return Syncs(ingestion, principal, project_id)


def kind_of(role: str, olake_type: str) -> str:
    return source_kind(olake_type) if role == SOURCE else destination_kind(olake_type)


def ours(role: str, kind: str, config: Config) -> dict[str, Any]:
    """An OLake config (string or object) as our connector's config of `kind`."""
    parsed = parse_config(config)
    return source_config(kind, parsed) if role == SOURCE else destination_config(kind, parsed)


def olake_type(role: str, kind: str) -> str:
    return kind if role == SOURCE else destination_type(kind)


def olake_config(role: str, kind: str, config: dict[str, Any]) -> str:
    olake = source_config_olake(kind, config) if role == SOURCE else destination_config_olake(kind, config)
    return encode(olake)


def listed(role: str, connection: dict[str, Any], other_types: dict[str, str]) -> dict[str, Any]:
    """A connection as the OLake lists answer it; `other_types` names the OLake type of the other role's
    connections by name (a source's jobs say their destination's type, and the other way round)."""
    kind = str(connection["type"])
    jobs: list[dict[str, Any]] = []
    for ref in connection.get("jobs", []):
        item: dict[str, Any] = {"id": ref["id"], "name": ref["name"], "activate": bool(ref["active"])}
        if role == SOURCE:
            other = ref.get("destination_name") or ""
            item |= {"destination_name": other, "destination_type": other_types.get(other, "")}
        else:
            other = ref.get("source_name") or ""
            item |= {"source_name": other, "source_type": other_types.get(other, "")}
        if ref.get("last_run_time"):  # never "" or null: the UI parses it as a date
            item["last_run_time"] = rfc3339(ref["last_run_time"])
            item["last_run_state"] = run_status(ref.get("last_run_state"))
        jobs.append(item)
    return {
        "id": connection["id"],
        "name": connection["name"],
        "type": olake_type(role, kind),
        "version": connection.get("version") or "latest",
        "config": olake_config(role, kind, connection.get("config") or {}),
        "created_at": rfc3339(connection.get("created_at")),
        "updated_at": rfc3339(connection.get("updated_at")),
        "created_by": connection.get("created_by") or "",
        "updated_by": connection.get("updated_by") or "",
        "jobs": jobs,
    }


async def type_names(syncs: Syncs, role: str) -> dict[str, str]:
    """The OLake type of each of the project's `role` connections, by name."""
    return {str(c["name"]): olake_type(role, str(c["type"])) for c in await syncs.connections(role)}


def other(role: str) -> Role:
    return DESTINATION if role == SOURCE else SOURCE


async def list_connections(syncs: Syncs, role: Role) -> list[dict[str, Any]]:
    names = await type_names(syncs, other(role))
    return [listed(role, c, names) for c in await syncs.connections(role)]


def write_of(role: str, body: ConnectionBody) -> dict[str, Any]:
    """The ingestion write of an OLake create or update body."""
    if not body.name.strip():
        raise Refused("name is required")
    kind = kind_of(role, body.type)
    return {
        "name": body.name,
        "type": kind,
        "version": body.version or "latest",
        "config": ours(role, kind, body.config),
    }


async def get_or_create(syncs: Syncs, role: Role, body: ConnectionBody) -> dict[str, Any]:
    """The project's `role` connection named `body.name`, its config and version replaced by the body's, or a
    new one (as OLake's server does for a job's embedded source and destination)."""
    write = write_of(role, body)
    for existing in await syncs.connections(role):
        if existing["name"] == write["name"]:
            if existing["type"] != write["type"]:
                raise IngestionRefused(
                    409,
                    f"a {role[:-1]} named {body.name!r} exists with type "
                    f"{olake_type(role, str(existing['type']))!r}: choose another name",
                )
            return await syncs.update_connection(role, int(existing["id"]), write)
    return await syncs.create_connection(role, write)


async def test_connection(syncs: Syncs, role: Role, body: ConnectionBody) -> dict[str, str]:
    """The UI's test answer: `SUCCEEDED`, or `FAILED` with a sentence (also for a config we cannot translate
    or a type we do not serve: the UI shows `data.message` of a 200 only)."""
    try:
        kind = kind_of(role, body.type)
        answer = await syncs.check(role, kind, ours(role, kind, body.config), body.version or "latest")
    except (Refused, Unsupported) as exc:
        return {"status": "FAILED", "message": exc.detail}
    except IngestionRefused as exc:
        if exc.status >= 500:
            raise
        return {"status": "FAILED", "message": exc.detail}
    if answer.get("ok"):
        return {"status": "SUCCEEDED", "message": str(answer.get("message") or "")}
    return {"status": "FAILED", "message": str(answer.get("message") or answer.get("reason") or "failed")}
