"""Test support: gcp-storage-emulator completed with the GCS XML API calls that obstore makes.

obstore (Rust `object_store`) speaks the GCS XML API for objects (PUT/GET/HEAD/DELETE on `/{bucket}/{object}`,
`?uploads` multipart, `?list-type=2` listing); gcp-storage-emulator implements the JSON API and only a bare XML
PUT and GET (no ETag or Last-Modified headers, which obstore requires; no HEAD, DELETE, listing or multipart).
This module serves the emulator's own storage with those calls added, so the same tests run against it:

    python -m headwater.ingestion.testing_gcs_emulator --host 127.0.0.1 --port 4443

It relies on the emulator's internals (`server.HANDLERS`, `Storage`); `headwater.ingestion.testing` checks that it
starts before any test uses it.
"""
# pyright: basic

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from xml.sax.saxutils import escape

from gcp_storage_emulator import server
from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects

_lock = threading.Lock()
_uploads: dict[str, tuple[str, str]] = {}
_parts: dict[str, dict[int, bytes]] = {}


def _raw_body(request: Any) -> bytes:
    # The emulator's `request.data` decodes JSON bodies; object bytes must stay bytes.
    handler = request._request_handler
    return server._decode_raw_data(server._read_raw_data(handler), handler) or b""


def _etag(obj: dict[str, Any]) -> str:
    return f'"{base64.b64decode(obj["md5Hash"]).hex()}"'


def _updated(obj: dict[str, Any]) -> datetime:
    return datetime.strptime(obj["updated"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _store(request: Any, storage: Any, bucket: str, name: str, content: bytes) -> dict[str, Any] | None:
    content_type = request.get_header("Content-Type", "application/octet-stream")
    obj = objects._make_object_resource(request.base_url, bucket, name, content_type, str(len(content)))
    obj = objects._checksums(content, obj)
    try:
        storage.create_file(bucket, name, content, obj)
    except NotFound:
        return None
    return obj


def _describe(response: Any, obj: dict[str, Any]) -> None:
    response["ETag"] = _etag(obj)
    response["Last-Modified"] = format_datetime(_updated(obj), usegmt=True)


def _xml(response: Any, body: str) -> None:
    response.write_file(f'<?xml version="1.0" encoding="UTF-8"?>{body}'.encode(), "application/xml")


def object_put(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
    bucket, name = request.params["bucket_name"], request.params["object_id"]
    content = _raw_body(request)
    upload = request.query.get("uploadId", [None])[0]
    if upload is not None:
        with _lock:
            if upload not in _parts:
                response.status = HTTPStatus.NOT_FOUND
                return
            _parts[upload][int(request.query["partNumber"][0])] = content
        response["ETag"] = f'"{hashlib.md5(content).hexdigest()}"'
        return
    obj = _store(request, storage, bucket, name, content)
    if obj is None:
        response.status = HTTPStatus.NOT_FOUND
        return
    _describe(response, obj)


def object_get(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
    try:
        obj = storage.get_file_obj(request.params["bucket_name"], request.params["object_id"])
    except NotFound:
        response.status = HTTPStatus.NOT_FOUND
        return
    objects.download(request, response, storage)
    _describe(response, obj)


def object_delete(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
    upload = request.query.get("uploadId", [None])[0]
    if upload is not None:
        with _lock:
            _parts.pop(upload, None)
            _uploads.pop(upload, None)
        response.status = HTTPStatus.NO_CONTENT
        return
    try:
        storage.delete_file(request.params["bucket_name"], request.params["object_id"])
    except NotFound:
        response.status = HTTPStatus.NOT_FOUND
        return
    response.status = HTTPStatus.NO_CONTENT


def object_post(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
    bucket, name = request.params["bucket_name"], request.params["object_id"]
    # `?uploads=` has a blank value, which the emulator's parsed query drops.
    if "uploads" in parse_qs(urlparse(request.full_url).query, keep_blank_values=True):
        upload = secrets.token_hex(12)
        with _lock:
            _uploads[upload] = (bucket, name)
            _parts[upload] = {}
        _xml(
            response,
            f"<InitiateMultipartUploadResult><Bucket>{escape(bucket)}</Bucket><Key>{escape(name)}</Key>"
            f"<UploadId>{upload}</UploadId></InitiateMultipartUploadResult>",
        )
        return
    upload = request.query.get("uploadId", [None])[0]
    with _lock:
        parts = _parts.pop(upload, None) if upload else None
        _uploads.pop(upload or "", None)
    if parts is None:
        response.status = HTTPStatus.NOT_FOUND
        return
    listed = ET.fromstring(_raw_body(request))
    numbers = [int(part.findtext("PartNumber") or "0") for part in listed.iter("Part")]
    obj = _store(request, storage, bucket, name, b"".join(parts[number] for number in numbers))
    if obj is None:
        response.status = HTTPStatus.NOT_FOUND
        return
    _xml(
        response,
        f"<CompleteMultipartUploadResult><Bucket>{escape(bucket)}</Bucket><Key>{escape(name)}</Key>"
        f"<ETag>{escape(_etag(obj))}</ETag></CompleteMultipartUploadResult>",
    )


def bucket_list(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
    query = request.query
    prefix = query.get("prefix", [None])[0]
    delimiter = query.get("delimiter", [None])[0]
    try:
        found, prefixes = storage.get_file_list(request.params["bucket_name"], prefix, delimiter)
    except NotFound:
        response.status = HTTPStatus.NOT_FOUND
        return
    contents = "".join(
        f"<Contents><Key>{escape(obj['name'])}</Key><Size>{obj['size']}</Size>"
        f"<LastModified>{_updated(obj).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}</LastModified>"
        f"<ETag>{escape(_etag(obj))}</ETag></Contents>"
        for obj in found
    )
    common = "".join(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in prefixes)
    _xml(
        response,
        f"<ListBucketResult><Name>{escape(request.params['bucket_name'])}</Name><Prefix>{escape(prefix or '')}"
        f"</Prefix><KeyCount>{len(found)}</KeyCount><IsTruncated>false</IsTruncated>{contents}{common}"
        "</ListBucketResult>",
    )


def do_head(self: Any) -> None:
    """HEAD of an object (the emulator's request handler has no HEAD at all)."""
    parts = urlparse(self.path).path.lstrip("/").split("/", 1)
    obj = None
    if len(parts) == 2:
        try:
            obj = self.storage.get_file_obj(unquote(parts[0]), unquote(parts[1]))
        except NotFound:
            obj = None
    if obj is None:
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return
    self.send_response(HTTPStatus.OK)
    self.send_header("Content-Length", str(obj["size"]))
    self.send_header("Content-Type", obj.get("contentType") or "application/octet-stream")
    self.send_header("ETag", _etag(obj))
    self.send_header("Last-Modified", format_datetime(_updated(obj), usegmt=True))
    self.end_headers()


def install() -> None:
    """Put the XML calls in the emulator's routing table (idempotent)."""
    routes = []
    for regex, handlers in server.HANDLERS:
        if handlers.get(server.PUT) is objects.xml_upload:
            # obstore percent-encodes every non-alphanumeric character of the path, the bucket's `-` too.
            regex = r"^/(?P<bucket_name>[-.%\w]+)/(?P<object_id>.*[^/]+)$"
            handlers = {
                server.GET: object_get,
                server.PUT: object_put,
                server.POST: object_post,
                server.DELETE: object_delete,
            }
        routes.append((regex, handlers))
    bucket_route = r"^/(?P<bucket_name>[-.%\w]+)$"
    if all(regex != bucket_route for regex, _ in routes):
        routes.append((bucket_route, {server.GET: bucket_list}))
    server.HANDLERS = tuple(routes)
    setattr(server.RequestHandler, "do_HEAD", do_head)  # noqa: B010 - an attribute the class lacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    install()
    server.create_server(arguments.host, arguments.port, in_memory=True).run()


__all__ = ["install", "main"]

if __name__ == "__main__":
    main()
