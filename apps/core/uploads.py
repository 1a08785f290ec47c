"""Multipart uploads read as they arrive: text fields kept, each file spooled once (to disk past SPOOL_MEMORY).

The lean ASGI handler leaves the body of an upload path unread and hands the view an `UploadStream` over the
ASGI `receive`; `read_form` parses it with python-multipart's push parser as the pieces come, so a file is
held in one place only (the spool), never also as a request body. A body past the limit is read to its end
and dropped (the client gets its 413 instead of a broken pipe) and the error names the limit.
"""
from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import IO, Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from django.http import HttpRequest

from apps.core.errors import GatewayError, InvalidRequest, PayloadTooLarge
from apps.core.http import read_body

UPLOAD_STREAM = "tollgate.upload_stream"  # request.META key: the unread body of an upload path
SPOOL_MEMORY = 1024 * 1024  # bytes of a file kept in memory before its spool moves to disk
FIELD_LIMIT = 256 * 1024  # bytes of all text fields together
READ_SIZE = 64 * 1024  # bytes per piece read back from a spool
UPLOAD_PATH_SUFFIXES = ("/audio/transcriptions", "/audio/translations", "/images/edits")


class ClientHungUp(GatewayError):
    """The client left before its upload was complete (nobody reads this answer)."""

    status = 499
    type = "invalid_request_error"
    code = "client_closed_request"


class UploadStream:
    """The request body as the ASGI server delivers it; `on_complete` runs once it has all arrived."""

    def __init__(self, receive: Callable[[], Any], on_complete: Callable[[], None]) -> None:
        self.receive = receive
        self.on_complete = on_complete
        self.done = False
        self.hung_up = False

    async def pieces(self) -> AsyncIterator[bytes]:
        while not self.done:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.hung_up = self.done = True
                raise ClientHungUp("The client closed the connection during the upload.")
            if not message.get("more_body", False):
                self.done = True
                self.on_complete()
            piece = message.get("body", b"")
            if piece:
                yield piece


@dataclass(slots=True)
class UploadedFile:
    """One file part: its name and type as the client sent them, its bytes in a spool (rewound to read)."""

    field: str
    filename: str
    content_type: str
    spool: IO[bytes]
    size: int = 0

    def head(self, size: int) -> bytes:
        """The first `size` bytes (to sniff the format)."""
        self.spool.seek(0)
        return self.spool.read(size)

    async def pieces(self) -> AsyncIterator[bytes]:
        """The bytes from the start, READ_SIZE at a time."""
        self.spool.seek(0)
        while piece := self.spool.read(READ_SIZE):
            yield piece

    def close(self) -> None:
        self.spool.close()


@dataclass(slots=True)
class Form:
    """A parsed multipart form: text fields by name (a repeated name, or `name[]`, keeps every value)."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None

    def files_named(self, *names: str) -> list[UploadedFile]:
        return [upload for upload in self.files if upload.field in names]

    def close(self) -> None:
        for upload in self.files:
            upload.close()


def boundary_of(content_type: str) -> bytes:
    """The multipart boundary, or a 400 naming what the endpoint takes."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        shown = content_type.split(";")[0].strip() or "none"
        raise InvalidRequest(f"This endpoint takes a multipart/form-data upload (Content-Type {shown!r} was sent).",
                             code="invalid_content_type")
    return boundary


class FormBuilder:
    """python-multipart callbacks gathering one form."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.headers: dict[bytes, bytes] = {}
        self.header_name = b""
        self.header_value = b""
        self.text = bytearray()
        self.text_size = 0
        self.current: UploadedFile | None = None
        self.name = ""

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {"on_part_begin": self.part_begin, "on_part_data": self.part_data, "on_part_end": self.part_end,
                "on_header_field": self.header_field, "on_header_value": self.header_piece,
                "on_header_end": self.header_end, "on_headers_finished": self.headers_finished}

    def part_begin(self) -> None:
        self.headers, self.text, self.current = {}, bytearray(), None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_piece(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_name.lower()] = self.header_value
        self.header_name, self.header_value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None:
            kind = self.headers.get(b"content-type", b"application/octet-stream").decode("latin-1")
            self.current = UploadedFile(field=name, filename=filename.decode("utf-8", "replace"),
                                        content_type=kind,
                                        spool=tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, mode="w+b"))
            self.form.files.append(self.current)
        self.name = name

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current is not None:
            self.current.spool.write(data[start:end])
            self.current.size += end - start
            return
        self.text_size += end - start
        if self.text_size > FIELD_LIMIT:
            raise InvalidRequest(f"The form's text fields are larger than {FIELD_LIMIT} bytes.",
                                 code="fields_too_large")
        self.text += data[start:end]

    def part_end(self) -> None:
        if self.current is None:
            self.form.fields.setdefault(self.name.removesuffix("[]"), []).append(self.text.decode("utf-8", "replace"))


async def read_form(pieces: AsyncIterator[bytes], content_type: str, *, limit: int) -> Form:
    """The form a multipart body holds; 413 naming `limit` when the body is larger (read to its end, dropped)."""
    parser = MultipartParser(boundary_of(content_type), FormBuilder(form := Form()).callbacks())  # type: ignore[arg-type]
    size = 0
    try:
        async for piece in pieces:
            size += len(piece)
            if size <= limit:
                parser.write(piece)
        parser.finalize()
    except FormParserError as exc:
        form.close()
        raise InvalidRequest(f"The multipart body could not be parsed: {exc}", code="invalid_multipart") from None
    except BaseException:
        form.close()
        raise
    if size > limit:
        form.close()
        raise PayloadTooLarge(f"The upload is larger than the limit of {limit} bytes (TOLLGATE_MAX_UPLOAD_BYTES).",
                              code="upload_too_large")
    return form


def is_upload_path(path: str) -> bool:
    """Whether the lean handler leaves this path's body for the view to read as it comes."""
    return path.endswith(UPLOAD_PATH_SUFFIXES)



async def request_pieces(request: HttpRequest) -> AsyncIterator[bytes]:
    """The body of an upload request as it arrives (the lean handler's stream), else Django's read body."""
    stream = request.META.get(UPLOAD_STREAM)
    if isinstance(stream, UploadStream):
        async for piece in stream.pieces():
            yield piece
        return
    yield read_body(request)


async def request_form(request: HttpRequest, *, limit: int) -> Form:
    """The request's multipart form (see `read_form`)."""
    return await read_form(request_pieces(request), request.META.get("CONTENT_TYPE", ""), limit=limit)
