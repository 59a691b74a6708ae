"""The part of `multipart` (the push parser of multipart/form-data bodies) the gateway's uploads use."""

from collections.abc import Generator

class MultipartError(ValueError): ...
class ParserError(MultipartError): ...
class ParserLimitReached(MultipartError): ...

class MultipartSegment:
    headerlist: list[tuple[str, str]]
    disposition: str | None
    name: str | None
    filename: str | None
    content_type: str | None
    charset: str | None
    bytes_received: int
    complete: bool
    def header(self, name: str, default: str | None = None) -> str | None: ...

class PushMultipartParser:
    closed: bool
    error: MultipartError | None
    def __init__(
        self,
        boundary: str | bytes,
        content_length: int = -1,
        max_header_size: int = ...,
        max_header_count: int = ...,
        max_segment_size: float = ...,
        max_segment_count: float = ...,
        header_charset: str = "utf8",
        strict: bool = False,
    ) -> None: ...
    def parse(self, chunk: bytes | bytearray) -> Generator[MultipartSegment | bytes | None]: ...
    def close(self, check_complete: bool = True) -> None: ...

def parse_options_header(
    header: str, options: dict[str, str] | None = None
) -> tuple[str, dict[str, str]]: ...
