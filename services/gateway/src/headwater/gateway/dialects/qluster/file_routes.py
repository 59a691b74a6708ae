"""Qluster routes of files (spec 003): stored items (listed, created for an upload, uploaded, patched to be
ignored, published, deleted) and ingestion jobs (listed, read, run now, killed), served by ingestion.

The two uploads stream: the gateway never holds a file. `POST /stored-items/upload` parses the multipart body as
it arrives and forwards the bytes of its file part, as they come, to ingestion (which streams them to the object
store); `PUT /stored-items/{id}/upload` (the URL Create A Stored Item answers with a local store) forwards its
body likewise. Both take files up to `HEADWATER_GATEWAY_UPLOAD_MAX_BYTES` (not Litestar's 10 MB cap of other
bodies) and refuse an empty file before anything is stored. The PUT needs no login: the signed, expiring,
single-use token in its URL is the credential, checked by ingestion (README: Qluster, files)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from litestar import Request, Response, delete, get, patch, post, put
from litestar.exceptions import ValidationException
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromQuery, Parameter, QueryParameter
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header
from prometheus_client import Counter

from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.contracts.qluster_files import (
    IngestionJob,
    IngestionJobPage,
    PublishResult,
    StoredItem,
    StoredItemCreate,
    StoredItemPage,
    StoredItemPatch,
    UploadUrl,
)
from headwater.common.contracts.qluster_metadata import TextResult
from headwater.common.contracts.types import BIGINT_MAX
from headwater.common.errors import Invalid, UseCaseError
from headwater.common.logging import get_logger
from headwater.common.principal import Principal
from headwater.gateway.dialects.deps import Caller, GatewaySettings, Service, ToIngestion
from headwater.gateway.dialects.forward import Forwarding
from headwater.gateway.dialects.qluster.metadata_routes import PAGING, PAGING_NOTE, Cursor, Reference
from headwater.gateway.upstream import UpstreamResponse

log = get_logger(__name__)

UPLOADS = Counter(
    "headwater_gateway_uploads_total",
    "File uploads through the gateway, by route (multipart, signed_url) and outcome (forwarded: ingestion "
    "answered; empty, too_large, stalled, malformed: refused by the gateway)",
    ["route", "outcome"],
)

# Who a signed upload URL's PUT is forwarded as: nobody logged in; ingestion checks the URL's token.
SIGNED_URL_CALLER: Final = Principal(subject="signed-upload-url", username="signed-upload-url")
# A multipart upload's parts besides the file (form fields) are small; at most this many parts in all.
MAX_FIELD_BYTES = 1024
MAX_PARTS = 16
JOB_STATES = (
    "created",
    "running",
    "blocked",
    "stopped",
    "error",
    "killed",
    "version_id_mismatch",
    "finished",
    "requeued",
)

Id = Annotated[int, Parameter(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)]


class UploadTooLarge(UseCaseError):
    status = 413


class UploadStalled(UseCaseError):
    status = 408


@dataclass(frozen=True, slots=True)
class _Limits:
    max_bytes: int
    idle_seconds: float


def _limits(settings: GatewaySettings) -> _Limits:
    return _Limits(settings.upload_max_bytes, settings.upload_idle_timeout_seconds)


async def _received(request: Request[Any, Any, Any], limits: _Limits, route: str) -> AsyncIterator[bytes]:
    """The request's body as it arrives, never held: at most `max_bytes` (413 past it, or at once when the
    announced length is over), each chunk within `idle_seconds` of the last (408)."""
    too_large = f"the file is larger than this gateway takes ({limits.max_bytes} bytes)"
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limits.max_bytes:
        UPLOADS.labels(route, "too_large").inc()
        raise UploadTooLarge(too_large)
    chunks = request.stream().__aiter__()
    received = 0
    while True:
        try:
            async with asyncio.timeout(limits.idle_seconds):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError:
            UPLOADS.labels(route, "stalled").inc()
            raise UploadStalled(f"the upload sent nothing for {limits.idle_seconds:g} seconds") from None
        received += len(chunk)
        if received > limits.max_bytes:
            UPLOADS.labels(route, "too_large").inc()
            raise UploadTooLarge(too_large)
        if chunk:
            yield chunk


async def _nonempty(chunks: AsyncIterator[bytes], route: str) -> AsyncIterator[bytes]:
    """`chunks`, once its first one has come (so an empty file is refused before anything is stored)."""
    first = await anext(chunks, b"")
    if not first:
        UPLOADS.labels(route, "empty").inc()
        raise Invalid("the file is empty (0 bytes): send the file's content")

    async def whole() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return whole()


def _relay(answer: UpstreamResponse, route: str) -> Response[Any]:
    UPLOADS.labels(route, "forwarded").inc()
    return Response(
        content=answer.body,
        status_code=answer.status,
        media_type=answer.content_type,
        headers={"retry-after": answer.retry_after} if answer.retry_after else None,
    )


Event = MultipartSegment | bytes | None


async def _events(body: AsyncIterator[bytes], boundary: str) -> AsyncIterator[Event]:
    """The multipart parser's events over `body`: a part's header, its bytes, then None at its end."""
    try:
        parser = PushMultipartParser(boundary, max_segment_count=MAX_PARTS)
        async for chunk in body:
            for event in parser.parse(chunk):
                yield event
        for event in parser.parse(b""):
            yield event
    except MultipartError as e:
        UPLOADS.labels("multipart", "malformed").inc()
        raise ValidationException(f"the multipart body is malformed: {e}") from e


async def _field(events: AsyncIterator[Event], name: str | None) -> str:
    """The value of a form field (the bytes of its part up to its end), at most `MAX_FIELD_BYTES`."""
    value = b""
    async for event in events:
        if event is None:
            break
        if isinstance(event, bytes):
            value += event
            if len(value) > MAX_FIELD_BYTES:
                raise ValidationException(f"form field {name!r} is longer than {MAX_FIELD_BYTES} bytes")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ValidationException(f"form field {name!r} is not UTF-8") from None


async def _file_bytes(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """The bytes of the file part, then the rest of the body read through (other fields are ignored, a second
    file is refused), so that ingestion keeps the file only once the whole body arrived well-formed."""
    async for event in events:
        if event is None:
            break
        if isinstance(event, bytes):
            yield event
    async for event in events:
        if isinstance(event, MultipartSegment) and event.filename is not None:
            raise ValidationException("send one file per upload")


class _MultipartDocumented(Operation):
    """The OpenAPI operation of the multipart upload: the body is read by the handler itself, as a stream."""

    def __post_init__(self) -> None:
        form = Schema(
            type=OpenAPIType.OBJECT,
            properties={
                "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                "data_source_model_id": Schema(type=OpenAPIType.INTEGER, minimum=1),
            },
            required=["file"],
        )
        self.request_body = RequestBody(
            content={"multipart/form-data": OpenAPIMediaType(schema=form)}, required=True
        )


class _OctetStreamDocumented(Operation):
    """The OpenAPI operation of the signed URL's PUT: the body is the file's bytes."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        self.request_body = RequestBody(
            content={"application/octet-stream": OpenAPIMediaType(schema=binary)}, required=True
        )


@post(
    Paths.UPLOAD,
    tags=["Stored items"],
    summary="Upload A File",
    description="Beyond 003: a `multipart/form-data` body with one file part (a part with a filename, e.g. "
    "`-F file=@orders.csv`) for the data source `data_source_model_id` (a query parameter, or a form field "
    "before the file part). The file streams to the object store and is published for ingestion: the answer is "
    "its stored item (`state` published, `ingestion_job_id` its job). An empty file answers 422 and nothing is kept; a "
    "file over the gateway's upload limit 413.",
    status_code=200,
    request_max_body_size=None,
    operation_class=_MultipartDocumented,
)
async def upload_file(
    request: Request[Any, Any, Any],
    principal: Caller,
    ingestion: Service,
    settings: GatewaySettings,
    data_source_model_id: Reference = None,
) -> Response[StoredItem]:
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get("boundary", "")
    if media_type != "multipart/form-data" or not boundary:
        raise ValidationException("send the file as multipart/form-data (e.g. curl -F file=@orders.csv)")
    events = _events(_received(request, _limits(settings), "multipart"), boundary)
    source_id = data_source_model_id
    part: MultipartSegment | None = None
    async for event in events:
        if not isinstance(event, MultipartSegment):
            continue
        if event.filename is not None:
            part = event
            break
        value = await _field(events, event.name)
        if event.name == "data_source_model_id":
            if not value.strip().isdigit() or not 1 <= int(value) <= BIGINT_MAX:
                raise ValidationException("`data_source_model_id`: the id of a data source")
            source_id = int(value)
    if part is None:
        raise ValidationException("the multipart body has no file part (a part with a filename)")
    if source_id is None:
        raise ValidationException(
            "`data_source_model_id`: name the data source (a query parameter, or a form field before the file)"
        )
    body = await _nonempty(_file_bytes(events), "multipart")
    query = {"data_source_model_id": source_id, "file_name": part.filename or "upload"}
    if part.content_type:
        query["content_type"] = part.content_type
    answer = await ingestion.stream(
        "POST",
        Paths.UPLOAD,
        body,
        principal=principal,
        query=urlencode(query),
        content_type=part.content_type or "application/octet-stream",
    )
    return _relay(answer, "multipart")


@put(
    Paths.TOKEN_UPLOAD,
    tags=["Stored items"],
    summary="Upload To A Signed URL",
    description="The `url` Create A Stored Item For Uploading The File answers when the object store is local "
    "(with S3 or GCS the URL is theirs): the body is the file's bytes. No login: the URL's token is the "
    "credential; it expires and takes one upload (403 after). The file is then published for ingestion. An empty "
    "body answers 422 and leaves the URL unused.",
    status_code=200,
    request_max_body_size=None,
    operation_class=_OctetStreamDocumented,
    opt={"permission": "public"},
)
async def upload_to_signed_url(
    request: Request[Any, Any, Any],
    stored_item_id: Id,
    ingestion: Service,
    settings: GatewaySettings,
    token: Annotated[str, QueryParameter(min_length=1, max_length=4096)],
    content_type: FromQuery[str | None] = None,
) -> Response[StoredItem]:
    body = await _nonempty(_received(request, _limits(settings), "signed_url"), "signed_url")
    answer = await ingestion.stream(
        "PUT",
        request.url.path,
        body,
        principal=SIGNED_URL_CALLER,
        query=request.url.query or "",
        content_type=request.headers.get("content-type") or "application/octet-stream",
    )
    return _relay(answer, "signed_url")


@get(
    Paths.INGESTION_JOBS,
    tags=["Ingestion jobs"],
    summary="Get Ingestion Jobs",
    description=f"{PAGING_NOTE} Filters: `dataset_id` (or `settings_model_id`), `data_source_model_id`, "
    f"`state` ({', '.join(JOB_STATES)}).",
)
async def get_ingestion_jobs(
    to_ingestion: ToIngestion,
    start: Cursor = None,
    end: Cursor = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 20,
    reverse: FromQuery[bool] = True,
    settings_model_id: Reference = None,
    dataset_id: Reference = None,
    data_source_model_id: Reference = None,
    job_state: Annotated[str | None, QueryParameter(name="state")] = None,
) -> Response[IngestionJobPage]:
    if start is not None and end is not None:
        raise ValidationException("pass either `start` or `end`, not both")
    if job_state is not None and job_state not in JOB_STATES:
        raise ValidationException(f"`state`: one of {', '.join(JOB_STATES)}")
    return await to_ingestion()


stored_items = Forwarding("to_ingestion", "Stored items")
jobs = Forwarding("to_ingestion", "Ingestion jobs")

ROUTES = [
    stored_items.route(
        get,
        Paths.STORED_ITEMS,
        "get_stored_items",
        StoredItemPage,
        query={
            **PAGING,
            "data_source_model_id": (Reference, None),
            "parent_id": (Reference, None),
            "is_uploaded_via_signed_url": (FromQuery[bool | None], None),
        },
        summary="Get Stored Items",
        description=f"{PAGING_NOTE} Filters: `data_source_model_id`, `parent_id`, `is_uploaded_via_signed_url`.",
    ),
    stored_items.route(
        post,
        Paths.STORED_ITEMS,
        "create_a_stored_item_for_uploading_the_file",
        UploadUrl,
        data=StoredItemCreate,
        summary="Create A Stored Item For Uploading The File",
        description="A stored item waiting for its file, and the URL to `PUT` the file's bytes to: pre-signed by "
        "S3 or GCS (then Publish Stored Item For Ingestion), or with a local store the gateway's "
        "`/stored-items/{id}/upload?token=…` (single use; the file is published on arrival). A key already "
        "taken in the data source answers 409.",
        status_code=200,
    ),
    upload_file,
    upload_to_signed_url,
    stored_items.route(
        patch,
        Paths.STORED_ITEMS,
        "patch_stored_item",
        StoredItem,
        data=StoredItemPatch,
        summary="Patch Stored Item",
        description="`ignore_file: true` removes the file's rows from its dataset and drops its bad rows and "
        "their alerts, and the same file is skipped from then on; `false` forgets that (Run Ingestion Job Now "
        "loads it again).",
    ),
    stored_items.route(
        get, Paths.STORED_ITEM, "get_one_stored_item", StoredItem, summary="Get One Stored Item"
    ),
    stored_items.route(
        delete,
        Paths.STORED_ITEM,
        "delete_stored_item",
        TextResult,
        summary="Delete Stored Item",
        description="The stored item and its object; mainly after an upload to a signed URL that failed.",
        status_code=200,
    ),
    stored_items.route(
        post,
        Paths.PUBLISH,
        "publish_stored_item_for_ingestion",
        PublishResult,
        summary="Publish Stored Item For Ingestion",
        description="A new ingestion job for the stored item's file, which goes on the queue to be ingested.",
        status_code=200,
    ),
    get_ingestion_jobs,
    jobs.route(
        get, Paths.INGESTION_JOB, "get_one_ingestion_job", IngestionJob, summary="Get One Ingestion Job"
    ),
    jobs.route(
        post,
        Paths.RUN_INGESTION_JOB,
        "run_ingestion_job_now",
        TextResult,
        summary="Run Ingestion Job Now",
        description="The job's file is ingested again (its earlier rows and bad rows replaced) through a new job; "
        "a job still waiting or running answers 409 (kill it first), as does an ignored file.",
        status_code=200,
    ),
    jobs.route(
        post,
        Paths.KILL_INGESTION_JOB,
        "kill_ingestion_job",
        TextResult,
        summary="Kill Ingestion Job",
        description="A job waiting to run never runs; a running one is cancelled by its worker and what it "
        "loaded is rolled back. An ended job answers 409.",
        status_code=200,
    ),
]
