"""The AWS event-stream decoder against messages framed from the spec (and botocore's own parser)."""
from __future__ import annotations

import base64
import struct
import uuid
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer

from apps.providers.base import UpstreamError
from apps.providers.framing import AWSEventStreamDecoder, decoder_for
from tests.providers.translation import FIXTURES
from tests.upstreams.bedrock import event_message

STREAM = base64.b64decode((FIXTURES / "bedrock" / "stream.stream.b64").read_bytes())


def decode_all(raw: bytes, slice_size: int) -> list[tuple[bytes, str | None, dict[str, str]]]:
    decoder = AWSEventStreamDecoder()
    frames = []
    for start in range(0, len(raw), slice_size):
        frames.extend(decoder.feed(raw[start:start + slice_size]))
    frames.extend(decoder.close())
    return [(frame.data, frame.event, dict(frame.headers)) for frame in frames]


def test_registered_for_aws_eventstream_framing() -> None:
    assert isinstance(decoder_for("aws-eventstream"), AWSEventStreamDecoder)


@pytest.mark.parametrize("slice_size", [pytest.param(size, id=f"{size}_bytes_case") for size in (1, 5, 12, 64, 10**6)])
def test_agrees_with_botocore_whatever_the_read_sizes(slice_size: int) -> None:
    reference = EventStreamBuffer()
    reference.add_data(STREAM)
    expected = [(message.payload, message.headers[":event-type"], dict(message.headers)) for message in reference]
    assert len(expected) == 11
    assert decode_all(STREAM, slice_size) == expected


def test_event_and_message_type_headers_become_frame_fields() -> None:
    raw = event_message({":event-type": "messageStop", ":content-type": "application/json",
                         ":message-type": "event"}, b'{"stopReason":"end_turn"}')
    [(data, name, headers)] = decode_all(raw, 3)
    assert (data, name) == (b'{"stopReason":"end_turn"}', "messageStop")
    assert headers == {":event-type": "messageStop", ":content-type": "application/json", ":message-type": "event"}


def test_exception_messages_are_named_by_exception_type() -> None:
    raw = event_message({":exception-type": "throttlingException", ":message-type": "exception"}, b'{"message":"slow"}')
    assert decode_all(raw, 4)[0][1] == "throttlingException"


def test_every_header_value_type_decodes() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    raw_headers = (b"\x01t\x00" + b"\x01f\x01" + b"\x01b\x02\xff" + b"\x01s\x03" + struct.pack(">h", -2)
                   + b"\x01i\x04" + struct.pack(">i", 7) + b"\x01l\x05" + struct.pack(">q", 2**40)
                   + b"\x01y\x06" + struct.pack(">H", 2) + b"\xab\xcd" + b"\x01d\x08" + struct.pack(">q", 1700000000000)
                   + b"\x01u\x09" + ident.bytes)
    prelude = struct.pack(">II", 12 + len(raw_headers) + 4, len(raw_headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw_headers
    message += struct.pack(">I", zlib.crc32(message))
    [(data, _, headers)] = decode_all(message, 1000)
    assert data == b""
    assert headers == {"t": "true", "f": "false", "b": "-1", "s": "-2", "i": "7", "l": str(2**40), "y": "abcd",
                       "d": "1700000000000", "u": str(ident)}


def test_corrupt_message_crc_is_refused() -> None:
    raw = bytearray(event_message({":event-type": "metadata"}, b'{"usage":{}}'))
    raw[-6] ^= 0x01  # flip a payload bit: the message CRC no longer matches
    with pytest.raises(UpstreamError, match="message CRC32"):
        decode_all(bytes(raw), 7)


def test_corrupt_prelude_crc_is_refused() -> None:
    raw = bytearray(event_message({":event-type": "metadata"}, b"{}"))
    raw[3] ^= 0x01
    with pytest.raises(UpstreamError, match="prelude CRC32"):
        AWSEventStreamDecoder().feed(bytes(raw))


def test_stream_cut_inside_a_message_is_an_error_at_close() -> None:
    decoder = AWSEventStreamDecoder()
    assert decoder.feed(STREAM[:-3]) != []
    with pytest.raises(UpstreamError, match="stream ended inside a message") as caught:
        decoder.close()
    assert caught.value.upstream_status == 502
