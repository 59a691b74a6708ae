"""`POST /api/v1/lineage`: OpenLineage RunEvents from the official clients' HTTP transport.

The event is validated here (400 with the reason when it is not a RunEvent) and recorded synchronously by
execution-tracking, so 201 means it is stored. A gzip body (the transport's `compression: gzip`) is accepted.
"""

from __future__ import annotations

import zlib
from typing import Any

import msgspec
from litestar import Controller, Response, post

from headwater.common.contracts.openlineage import decode_run_event
from headwater.common.contracts.paths import ExecutionTrackingPaths
from headwater.gateway.dialects.deps import AnyRequest, ToExecutionTracking

MAX_BODY = 10 * 1024 * 1024


def _gunzip(body: bytes) -> bytes:
    """Decompress at most MAX_BODY + 1 bytes, so a small body cannot unpack into gigabytes."""
    inflater = zlib.decompressobj(wbits=31)  # gzip header and trailer
    out = inflater.decompress(body, MAX_BODY + 1)
    if len(out) <= MAX_BODY and not inflater.eof:
        raise EOFError("the gzip stream is truncated")
    return out


def _bad(reason: str) -> Response[Any]:
    return Response({"detail": reason}, status_code=400)


class OpenLineageRoutes(Controller):
    tags = ["OpenLineage"]

    @post(
        ExecutionTrackingPaths.OPENLINEAGE,
        summary="Record an OpenLineage RunEvent",
        description="As Marquez serves it. A job becomes a pipeline `namespace/name`, a run an execution (run id "
        "kept, parent run facet -> parent execution, COMPLETE -> success, FAIL/ABORT -> failure), datasets "
        "become addresses `namespace/name` and the pipeline's lineage edges. 201 once stored; 400 for an event "
        "that is not a valid RunEvent.",
        status_code=201,
    )
    async def record(self, request: AnyRequest, to_execution_tracking: ToExecutionTracking) -> Response[None]:
        body = await request.body()
        if request.headers.get("content-encoding", "").lower() == "gzip":
            try:
                body = _gunzip(body)
            except (OSError, EOFError, zlib.error) as exc:
                return _bad(f"the body is not valid gzip: {exc}")
        if len(body) > MAX_BODY:
            return _bad(f"an event must be at most {MAX_BODY} bytes")
        try:
            decode_run_event(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return _bad(f"invalid OpenLineage RunEvent: {exc}")
        return await to_execution_tracking(body=body)


ROUTES = [OpenLineageRoutes]
