"""Upload bodies: a multipart (or raw file) body built as pieces around the client's spooled file.

The body's length is known up front and its pieces are the part headers, the file read back 64 KiB at a time and
the closing boundary, so no upload is ever joined into one bytes object; each attempt (retries, fallbacks) reads
the spool again.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

from apps.core.uploads import UploadedFile


def quoted(value: str) -> str:
    """A form-data parameter value (RFC 7578: quotes and line breaks percent-escaped, as browsers do)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """`multipart/form-data` of text fields, then files."""

    def __init__(self, fields: Sequence[tuple[str, str]], files: Sequence[tuple[str, UploadedFile]]) -> None:
        self.boundary = f"tollgate-{os.urandom(12).hex()}"
        self.fields = [self._field_head(name) + value.encode() + b"\r\n" for name, value in fields]
        self.files = [(self._file_head(name, upload), upload) for name, upload in files]
        self.tail = f"--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _field_head(self, name: str) -> bytes:
        return f'--{self.boundary}\r\nContent-Disposition: form-data; name="{quoted(name)}"\r\n\r\n'.encode()

    def _file_head(self, name: str, upload: UploadedFile) -> bytes:
        return (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{quoted(name)}"; '
                f'filename="{quoted(upload.filename)}"\r\nContent-Type: {upload.content_type}\r\n\r\n').encode()

    @property
    def length(self) -> int:
        return (sum(map(len, self.fields)) + sum(len(head) + upload.size + 2 for head, upload in self.files)
                + len(self.tail))

    async def pieces(self) -> AsyncIterator[bytes]:
        for field in self.fields:
            yield field
        for head, upload in self.files:
            yield head
            async for piece in upload.pieces():
                yield piece
            yield b"\r\n"
        yield self.tail


class FileBody:
    """One uploaded file as the whole body (Deepgram's `/listen`)."""

    def __init__(self, upload: UploadedFile) -> None:
        self.upload = upload

    @property
    def length(self) -> int:
        return self.upload.size

    def pieces(self) -> AsyncIterator[bytes]:
        return self.upload.pieces()


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """An upstream request whose body is an upload."""

    url: str
    headers: Mapping[str, str]
    body: MultipartBody | FileBody
    method: str = "POST"
