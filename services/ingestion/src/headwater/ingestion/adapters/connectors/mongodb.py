"""MongoDB as a source (pymongo's asyncio client): the collections of one database, read in full or by a field.

Documents become flat records: `_id` and the other top-level fields as columns (typed from a sample at discovery),
ObjectIds as their hex text, dates as ISO text, decimals as text, binary as base64, nested documents and arrays
as relaxed extended JSON text. Reads go in `_id` order (full) or in the cursor field's order, then `_id`
(incremental); the state keeps the last cursor value and the `_id`s read at it as extended JSON, so the types
come back exactly (an ObjectId stays an ObjectId) and ties are neither lost nor read twice.

No MongoDB server runs on this project's machines (none is packaged for Debian), so the tests cover the spec,
the validation, the connection errors and the document conversion; reads against a server are untested here.
CDC (change streams, which need a replica set) is not offered.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Annotated, Any, cast

import msgspec
from bson import Binary, Decimal128, ObjectId, json_util
from msgspec import Meta
from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError, ServerSelectionTimeoutError

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.common import (
    CHECK_TIMEOUT_SECONDS,
    SOURCE_READ_FAILURES,
    SOURCE_ROWS,
    checking,
    config_spec,
    masked_repr,
    parse_config,
    reach,
)
from headwater.ingestion.adapters.connectors.json_records import infer_columns, to_batch
from headwater.ingestion.domain.connectors import (
    CheckFailed,
    Column,
    ReadBatch,
    ReadRequest,
    Stream,
    SyncMode,
)

log = get_logger(__name__)

KIND = "mongodb"
_SECRET = {"format": "password", "secret": True}
AUTH_FAILED, UNAUTHORIZED = 18, 13  # MongoDB error codes
# Extended JSON of saved values: canonical (types kept exactly), dates read back aware, in UTC
EJSON = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True, tzinfo=dt.UTC)


class MongoConfig(msgspec.Struct, frozen=True, kw_only=True):
    hosts: Annotated[
        tuple[Annotated[str, Meta(min_length=1, max_length=260)], ...],
        Meta(
            min_length=1,
            max_length=50,
            title="Hosts",
            description="host:port of each member (one host with SRV)",
        ),
    ]
    database: Annotated[str, Meta(min_length=1, max_length=64, title="Database")]
    username: Annotated[str, Meta(max_length=256, title="Username")] = ""
    password: Annotated[str, Meta(max_length=1024, title="Password", extra_json_schema=_SECRET)] = ""
    auth_source: Annotated[str, Meta(min_length=1, max_length=64, title="Authentication database")] = "admin"
    replica_set: Annotated[str, Meta(max_length=256, title="Replica set")] = ""
    tls: Annotated[bool, Meta(title="TLS")] = False
    srv: Annotated[bool, Meta(title="SRV record (mongodb+srv://)")] = False
    sample_size: Annotated[
        int, Meta(ge=1, le=10_000, title="Documents sampled per collection at discovery")
    ] = 100

    def __repr__(self) -> str:
        return masked_repr(self)

    def addresses(self) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for entry in self.hosts:
            host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "27017")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise CheckFailed("invalid_config", f"{entry!r} is not host:port")
            found.append((host, int(port)))
        return found


def client(cfg: MongoConfig) -> AsyncMongoClient[dict[str, Any]]:
    timeout_ms = int(CHECK_TIMEOUT_SECONDS * 1000) - 1000
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": timeout_ms,
        "connectTimeoutMS": timeout_ms,
        "tz_aware": True,
        "tls": cfg.tls,
        "appname": "headwater-ingestion",
    }
    if cfg.username:
        options |= {"username": cfg.username, "password": cfg.password, "authSource": cfg.auth_source}
    if cfg.replica_set:
        options["replicaSet"] = cfg.replica_set
    hosts: str | list[str] = f"mongodb+srv://{cfg.hosts[0]}" if cfg.srv else list(cfg.hosts)
    try:
        return AsyncMongoClient(hosts, **options)
    except ConfigurationError as e:
        raise CheckFailed("invalid_config", f"the MongoDB settings do not hold together: {e}") from None


def _failure(cfg: MongoConfig, e: PyMongoError) -> CheckFailed:
    if isinstance(e, OperationFailure):
        if e.code == AUTH_FAILED:
            return CheckFailed(
                "bad_credentials", f"authentication of {cfg.username!r} failed (database {cfg.auth_source!r})"
            )
        if e.code == UNAUTHORIZED:
            return CheckFailed(
                "permission_denied", f"{cfg.username!r} may not read database {cfg.database!r}"
            )
        return CheckFailed("read_failed", f"MongoDB refused the operation: {e.details or e}")
    if isinstance(e, ServerSelectionTimeoutError):
        return CheckFailed("unreachable_host", f"no MongoDB server answered: {str(e).split(', Timeout')[0]}")
    if isinstance(e, ConfigurationError):
        return CheckFailed("invalid_config", str(e))
    return CheckFailed("connection_failed", f"MongoDB failed: {e}")


# --- documents as records ------------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A BSON value as a JSON value (top level: ObjectId, date, decimal and binary as text)."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, Decimal128):
        return str(value.to_decimal())
    if isinstance(value, Binary | bytes):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict | list):
        return json.loads(json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS))
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in document.items()}


def columns_of(documents: Sequence[Mapping[str, Any]]) -> tuple[Column, ...]:
    """Columns from sampled documents, `_id` first, dates marked `date-time`."""
    inferred = {c.name: c for c in infer_columns([record(d) for d in documents])}
    dated = {k for d in documents for k, v in d.items() if isinstance(v, dt.datetime)}
    columns = [
        msgspec.structs.replace(c, format="date-time") if c.name in dated and c.type == "string" else c
        for c in inferred.values()
    ]
    columns.sort(key=lambda c: c.name != "_id")
    return tuple(columns)


class MongoState(msgspec.Struct, frozen=True, kw_only=True):
    cursor_field: str
    cursor: str  # extended JSON of the last value read
    ids_at_cursor: list[str] = []  # extended JSON of the `_id`s read at that value


def resume_filter(state: MongoState | None) -> dict[str, Any]:
    if state is None:
        return {}
    value = json_util.loads(state.cursor, json_options=EJSON)
    query: dict[str, Any] = {state.cursor_field: {"$gte": value}}
    if state.ids_at_cursor:
        ids = [json_util.loads(i, json_options=EJSON) for i in state.ids_at_cursor]
        query["$nor"] = [{state.cursor_field: value, "_id": {"$in": ids}}]
    return query


def advance(
    state: MongoState | None, cursor_field: str, documents: Sequence[Mapping[str, Any]]
) -> MongoState | None:
    """The state after `documents` (in cursor order): the last value and every `_id` read at it."""
    for document in documents:
        if cursor_field not in document:
            continue
        value = json_util.dumps(document[cursor_field], json_options=EJSON)
        id_text = json_util.dumps(document["_id"], json_options=EJSON)
        if state is not None and state.cursor == value:
            state = msgspec.structs.replace(state, ids_at_cursor=[*state.ids_at_cursor, id_text])
        else:
            state = MongoState(cursor_field=cursor_field, cursor=value, ids_at_cursor=[id_text])
    return state


# --- the connector -------------------------------------------------------------------------------------------------


class MongoSource:
    kind = KIND

    def spec(self) -> dict[str, Any]:
        return config_spec(
            MongoConfig, title="MongoDB", description="The collections of one MongoDB database"
        )

    async def check(self, config: Mapping[str, Any]) -> None:
        cfg = parse_config(config, MongoConfig)
        async with checking(KIND, "MongoDB"):
            if not cfg.srv:
                await _some_member_reachable(cfg)
            mongo = client(cfg)
            try:
                await mongo.admin.command("ping")
                await mongo[cfg.database].list_collection_names()
            except PyMongoError as e:
                raise _failure(cfg, e) from None
            finally:
                await mongo.close()

    async def discover(self, config: Mapping[str, Any]) -> list[Stream]:
        cfg = parse_config(config, MongoConfig)
        mongo = client(cfg)
        try:
            db = mongo[cfg.database]
            streams: list[Stream] = []
            names = await db.list_collection_names(filter={"type": "collection"})
            for name in sorted(n for n in names if not n.startswith("system.")):
                sample = await db[name].find({}).limit(cfg.sample_size).to_list()
                columns = columns_of(sample) or (Column(name="_id", type="string", nullable=False),)
                candidates = tuple(
                    c.name for c in columns if c.type in ("integer", "number") or c.format or c.name == "_id"
                )
                streams.append(
                    Stream(
                        namespace=cfg.database,
                        name=name,
                        columns=columns,
                        primary_key=("_id",),
                        cursor_candidates=candidates,
                        sync_modes=(SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL),
                    )
                )
            return streams
        except PyMongoError as e:
            raise _failure(cfg, e) from None
        finally:
            await mongo.close()

    async def read(self, config: Mapping[str, Any], request: ReadRequest) -> AsyncIterator[ReadBatch]:
        cfg = parse_config(config, MongoConfig)
        if request.sync_mode == SyncMode.CDC:
            raise CheckFailed("cdc_unavailable", "MongoDB streams are read in full or incrementally here")
        incremental = request.sync_mode == SyncMode.INCREMENTAL
        cursor_field = request.cursor_field or "_id"
        state = _saved(request.state, cursor_field) if incremental else None
        query = resume_filter(state) if incremental else {}
        if incremental and state is None:
            query = {cursor_field: {"$exists": True}}
        order = [(cursor_field, 1), ("_id", 1)] if incremental and cursor_field != "_id" else [("_id", 1)]
        columns = tuple(request.stream.columns)
        mongo = client(cfg)
        try:
            found = mongo[request.stream.namespace or cfg.database][request.stream.name].find(
                query, sort=order, batch_size=min(request.batch_rows, 10_000)
            )
            documents: list[dict[str, Any]] = []
            async for document in found:
                documents.append(document)
                if len(documents) >= request.batch_rows:
                    columns = columns or columns_of(documents)  # the first batch's shape holds for the read
                    state, out = _batch(
                        documents, columns, cursor_field if incremental else None, state, request
                    )
                    yield out
                    documents = []
            if documents:
                columns = columns or columns_of(documents)
                _, out = _batch(documents, columns, cursor_field if incremental else None, state, request)
                yield out
        except PyMongoError as e:
            SOURCE_READ_FAILURES.labels(KIND).inc()
            raise _failure(cfg, e) from None
        finally:
            await mongo.close()


def _batch(
    documents: list[dict[str, Any]],
    columns: tuple[Column, ...],
    cursor_field: str | None,
    state: MongoState | None,
    request: ReadRequest,
) -> tuple[MongoState | None, ReadBatch]:
    records = to_batch([record(d) for d in documents], columns, request.stream.name)
    SOURCE_ROWS.labels(KIND).inc(records.num_rows)
    if cursor_field is None:
        return state, ReadBatch(records=records, state=None)
    state = advance(state, cursor_field, documents)
    return state, ReadBatch(records=records, state=msgspec.to_builtins(state) if state else None)


def _saved(state: Mapping[str, Any] | None, cursor_field: str) -> MongoState | None:
    if not state:
        return None
    try:
        saved = msgspec.convert(dict(state), MongoState)
        json_util.loads(saved.cursor, json_options=EJSON)
    except (msgspec.ValidationError, ValueError):
        raise CheckFailed(
            "invalid_config", "the saved state of this stream is not one this connector wrote"
        ) from None
    return saved if saved.cursor_field == cursor_field else None


async def _some_member_reachable(cfg: MongoConfig) -> None:
    first: CheckFailed | None = None
    for host, port in cfg.addresses():
        try:
            await reach(host, port)
            return
        except CheckFailed as e:
            first = first or e
    raise cast(CheckFailed, first)
