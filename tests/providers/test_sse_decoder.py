"""The SSE decoder gives the same events whatever the line endings and wherever the reads split the bytes."""
from __future__ import annotations

import pytest

from apps.providers.base import Frame
from apps.providers.framing import SSEDecoder

EVENTS = (b": keep-alive comment\n\ndata: {\"a\":1}\n\nevent: delta\ndata: line one\ndata: line two\n\n"
          b"data:no-space\n\nid: 7\nretry: 10\ndata: [DONE]\n\n")
EXPECTED = [Frame(data=b'{"a":1}'), Frame(data=b"line one\nline two", event="delta"), Frame(data=b"no-space"),
            Frame(data=b"[DONE]")]


def decode(pieces: list[bytes]) -> list[Frame]:
    decoder = SSEDecoder()
    frames = [frame for piece in pieces for frame in decoder.feed(piece)]
    return frames + decoder.close()


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_gives_the_same_events(ending: bytes) -> None:
    assert decode([EVENTS.replace(b"\n", ending)]) == EXPECTED


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_events_split_at_every_byte_give_the_same_events(ending: bytes) -> None:
    data = EVENTS.replace(b"\n", ending)
    for cut in range(1, len(data)):
        assert decode([data[:cut], data[cut:]]) == EXPECTED, cut
    assert decode([data[i:i + 1] for i in range(len(data))]) == EXPECTED


def test_a_final_event_without_its_blank_line_comes_out_on_close() -> None:
    assert decode([b"data: last"]) == [Frame(data=b"last")]
