"""`apps.core.uploads`: multipart forms read piece by piece as they arrive, files spooled once, limits enforced."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apps.core.errors import InvalidRequest, PayloadTooLarge
from apps.core.uploads import SPOOL_MEMORY, read_form

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def form_body(fields: list[tuple[str, str]], files: list[tuple[str, str, str, bytes]]) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields]
    parts += [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
              f'Content-Type: {kind}\r\n\r\n'.encode() + data + b"\r\n" for name, filename, kind, data in files]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class Pieces:
    """The body in pieces of `size` bytes, counting how many were taken."""

    def __init__(self, body: bytes, size: int) -> None:
        self.chunks = [body[i:i + size] for i in range(0, len(body), size)]
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.taken += 1
            yield chunk


async def test_fields_and_files_are_read_from_pieces_split_anywhere() -> None:
    audio = bytes(range(256)) * 40
    body = form_body([("model", "whisper"), ("timestamp_granularities[]", "word"),
                      ("timestamp_granularities[]", "segment")], [("file", "a.wav", "audio/wav", audio)])
    pieces = Pieces(body, 7)
    form = await read_form(pieces.__aiter__(), CONTENT_TYPE, limit=1_000_000)
    assert pieces.taken == len(pieces.chunks)
    assert form.fields == {"model": ["whisper"], "timestamp_granularities": ["word", "segment"]}
    [upload] = form.files
    assert (upload.field, upload.filename, upload.content_type, upload.size) == ("file", "a.wav", "audio/wav",
                                                                                 len(audio))
    assert b"".join([piece async for piece in upload.pieces()]) == audio


async def test_a_large_file_is_spooled_to_disk_not_memory() -> None:
    big = b"x" * (SPOOL_MEMORY * 3)
    form = await read_form(Pieces(form_body([], [("file", "a.mp3", "audio/mpeg", big)]), 65536).__aiter__(),
                           CONTENT_TYPE, limit=10 * SPOOL_MEMORY)
    [upload] = form.files
    assert upload.spool._rolled  # type: ignore[attr-defined]
    assert upload.size == len(big)
    form.close()


async def test_a_body_past_the_limit_is_read_to_its_end_and_refused_naming_it() -> None:
    pieces = Pieces(form_body([("model", "m")], [("file", "a.wav", "audio/wav", b"a" * 5000)]), 1000)
    with pytest.raises(PayloadTooLarge) as error:
        await read_form(pieces.__aiter__(), CONTENT_TYPE, limit=4000)
    assert pieces.taken == len(pieces.chunks)
    assert error.value.message == "The upload is larger than the limit of 4000 bytes (TOLLGATE_MAX_UPLOAD_BYTES)."


@pytest.mark.parametrize("content_type", [
    pytest.param("application/json", id="json_case"),
    pytest.param("multipart/form-data", id="no_boundary_case"),
    pytest.param("", id="none_case"),
])
async def test_a_body_that_is_not_a_multipart_form_is_refused(content_type: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        await read_form(Pieces(b"{}", 10).__aiter__(), content_type, limit=100)
    assert error.value.error_code == "invalid_content_type"


async def test_oversized_text_fields_are_refused() -> None:
    body = form_body([("prompt", "p" * 300_000)], [])
    with pytest.raises(InvalidRequest) as error:
        await read_form(Pieces(body, 65536).__aiter__(), CONTENT_TYPE, limit=1_000_000)
    assert error.value.error_code == "fields_too_large"
